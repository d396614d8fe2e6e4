/**
 * An EIP-1193 wallet for browser tests: the page gets a provider (announced through EIP-6963 like a real
 * extension) whose `request` crosses into Node via `page.exposeFunction`, where a viem account holding a
 * Hardhat development key signs typed data and transactions. Reads go to the real chain verbatim, errors keep
 * their JSON-RPC code and data, so viem in the page sees what it would see with MetaMask.
 *
 * Test controls: start on another chain (`initialChainId`), make the wallet not know the node's chain until
 * `wallet_addEthereumChain`, and reject the next signature or transaction (`rejectNext`) like a user would.
 */
import { createWalletClient, http, numberToHex } from "viem";
import type { Hex, LocalAccount, TypedDataDefinition } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Page } from "playwright-core";

import { localChain } from "../../node/chain/clients.ts";

interface RpcErrorShape {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

class WalletRpcError extends Error {
  readonly code: number;
  readonly data?: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

export interface TestWalletOptions {
  readonly privateKey: Hex;
  readonly rpcUrl: string;
  /** The node's chain. */
  readonly chainId: number;
  /** The chain the wallet starts on (another one to test the wrong-network path). */
  readonly initialChainId?: number;
}

export class TestWallet {
  readonly account: LocalAccount;
  /** Methods the page called, in order. */
  readonly calls: string[] = [];
  /** Reject the next signature or transaction with EIP-1193 code 4001. */
  rejectNext = false;
  #walletChainId: number;
  readonly #knownChains: Set<number>;
  readonly #options: TestWalletOptions;
  #page: Page | undefined;
  #rpcId = 0;

  constructor(options: TestWalletOptions) {
    this.#options = options;
    this.account = privateKeyToAccount(options.privateKey);
    this.#walletChainId = options.initialChainId ?? options.chainId;
    this.#knownChains = new Set([this.#walletChainId]);
  }

  get chainId(): number {
    return this.#walletChainId;
  }

  /** Installs the provider into every document the page loads from now on. */
  async install(page: Page): Promise<void> {
    this.#page = page;
    await page.exposeFunction("__vainTestWalletRequest", async (method: string, paramsJson: string) => {
      try {
        const result = await this.#handle(method, JSON.parse(paramsJson) as unknown[]);
        return JSON.stringify({ result: result ?? null });
      } catch (error) {
        const shaped: RpcErrorShape =
          error instanceof WalletRpcError
            ? { code: error.code, message: error.message, data: error.data }
            : { code: -32603, message: error instanceof Error ? error.message : String(error) };
        return JSON.stringify({ error: shaped });
      }
    });
    await page.addInitScript(() => {
      type Listener = (value: unknown) => void;
      const listeners = new Map<string, Set<Listener>>();
      const bridge = (
        window as unknown as { __vainTestWalletRequest: (m: string, p: string) => Promise<string> }
      ).__vainTestWalletRequest;
      const provider = {
        isVainTestWallet: true,
        async request(args: { method: string; params?: unknown }): Promise<unknown> {
          const reply = JSON.parse(await bridge(args.method, JSON.stringify(args.params ?? []))) as {
            result?: unknown;
            error?: { code: number; message: string; data?: unknown };
          };
          if (reply.error !== undefined) {
            throw Object.assign(new Error(reply.error.message), {
              code: reply.error.code,
              data: reply.error.data,
            });
          }
          return reply.result;
        },
        on(event: string, listener: Listener) {
          if (!listeners.has(event)) listeners.set(event, new Set());
          listeners.get(event)?.add(listener);
          return provider;
        },
        removeListener(event: string, listener: Listener) {
          listeners.get(event)?.delete(listener);
          return provider;
        },
      };
      (
        window as unknown as { __vainTestWalletEmit: (event: string, value: unknown) => void }
      ).__vainTestWalletEmit = (event, value) => {
        for (const listener of listeners.get(event) ?? []) listener(value);
      };
      const info = Object.freeze({
        uuid: "5d1c7f2e-6b8a-4c1e-9f3a-0a7e4b2c9d11",
        name: "vAIn Test Wallet",
        icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%236cb6ff'/%3E%3C/svg%3E",
        rdns: "org.vain.testwallet",
      });
      const announce = (): void => {
        window.dispatchEvent(
          new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }),
        );
      };
      window.addEventListener("eip6963:requestProvider", announce);
      announce();
    });
  }

  async #emit(event: string, value: unknown): Promise<void> {
    await this.#page?.evaluate(
      ([name, payload]) =>
        (
          window as unknown as { __vainTestWalletEmit: (event: string, value: unknown) => void }
        ).__vainTestWalletEmit(name as string, payload),
      [event, value] as const,
    );
  }

  /** Forwards a request to the chain and returns its result, or throws its JSON-RPC error unchanged. */
  async #forward(method: string, params: unknown[]): Promise<unknown> {
    this.#rpcId += 1;
    const response = await fetch(this.#options.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: this.#rpcId, method, params }),
    });
    const body = (await response.json()) as { result?: unknown; error?: RpcErrorShape };
    if (body.error !== undefined)
      throw new WalletRpcError(body.error.code, body.error.message, body.error.data);
    return body.result;
  }

  #maybeReject(): void {
    if (!this.rejectNext) return;
    this.rejectNext = false;
    throw new WalletRpcError(4001, "User rejected the request.");
  }

  async #handle(method: string, params: unknown[]): Promise<unknown> {
    this.calls.push(method);
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [this.account.address];
      case "eth_chainId":
        return numberToHex(this.#walletChainId);
      case "wallet_switchEthereumChain": {
        const chainId = Number((params[0] as { chainId: string }).chainId);
        if (!this.#knownChains.has(chainId))
          throw new WalletRpcError(4902, `Unrecognized chain ID ${chainId}.`);
        if (chainId !== this.#walletChainId) {
          this.#walletChainId = chainId;
          await this.#emit("chainChanged", numberToHex(chainId));
        }
        return null;
      }
      case "wallet_addEthereumChain": {
        const chain = params[0] as { chainId: string; rpcUrls: string[] };
        this.#knownChains.add(Number(chain.chainId));
        return null;
      }
      case "eth_signTypedData_v4": {
        this.#maybeReject();
        const [address, json] = params as [string, string];
        if (address.toLowerCase() !== this.account.address.toLowerCase()) {
          throw new WalletRpcError(4100, `Unknown account ${address}.`);
        }
        return this.account.signTypedData(JSON.parse(json) as TypedDataDefinition);
      }
      case "eth_sendTransaction": {
        this.#maybeReject();
        if (this.#walletChainId !== this.#options.chainId) {
          throw new WalletRpcError(4901, `The wallet is on chain ${this.#walletChainId}.`);
        }
        const tx = params[0] as { from: string; to?: Hex; data?: Hex; value?: Hex; gas?: Hex };
        const walletClient = createWalletClient({
          account: this.account,
          chain: localChain(this.#options.chainId, this.#options.rpcUrl),
          transport: http(this.#options.rpcUrl),
        });
        try {
          return await walletClient.sendTransaction({
            to: tx.to ?? null,
            data: tx.data,
            value: tx.value === undefined ? undefined : BigInt(tx.value),
            gas: tx.gas === undefined ? undefined : BigInt(tx.gas),
          });
        } catch (error) {
          throw new WalletRpcError(-32603, error instanceof Error ? error.message : String(error));
        }
      }
      default:
        if (this.#walletChainId !== this.#options.chainId) {
          throw new WalletRpcError(4901, `The test wallet has no RPC for chain ${this.#walletChainId}.`);
        }
        return this.#forward(method, params);
    }
  }
}
