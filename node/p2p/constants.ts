/** Hard cap on a gossip envelope's payload: gossip carries only small control messages (announcements, commitments). */
export const MAX_GOSSIP_PAYLOAD_BYTES = 64 * 1024;
/** Envelopes older/newer than this are rejected: bounds replay windows while tolerating modest clock skew. */
export const ENVELOPE_MAX_SKEW_MS = 60_000;
/** Protocol ID prefix shared by all vAIn mesh protocols and topics. */
export const PROTOCOL_PREFIX = "/vain/1";
