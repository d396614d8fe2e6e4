/**
 * The dashboard build used by the browser test and the demo: web/dist, rebuilt with Vite when it is missing
 * or older than any of its sources (one implementation, in node/api/dashboard.ts).
 */
export { ensureDashboardBuilt } from "../../node/api/dashboard.ts";
