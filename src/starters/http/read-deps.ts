import { createAtsReader, type AtsReader } from '../../reads/ats-reader.js';
import { createShopifyClients } from '../../runtime/shopify-clients.js';
import { createSources } from '../../runtime/sources.js';
import type { ShopifyClient } from '../../shopify/client/index.js';
import type { SourceAdapter } from '../../sources/adapter.js';
import type { HttpDeps } from './deps.js';

export interface ReadDeps {
  sources: SourceAdapter[];
  shopify: (shopId: string) => ShopifyClient;
  atsReader: AtsReader;
}

const built = new WeakMap<HttpDeps, ReadDeps>();

/**
 * What the read routes need beyond HttpDeps, built once per deps object on first use (so the public and the
 * admin server share one read cache): the injected ones when given, else from the configuration.
 */
export function readDepsOf(deps: HttpDeps): ReadDeps {
  let r = built.get(deps);
  if (!r) {
    const sources = deps.sources ?? createSources(deps.config, deps.db, deps.env);
    const baseUrl = deps.env.SHOPIFY_API_BASE_URL;
    r = {
      sources,
      shopify: deps.shopify ?? createShopifyClients(deps.config, { env: deps.env, ...(baseUrl ? { baseUrl } : {}) }),
      atsReader: deps.atsReader ?? createAtsReader({ db: deps.db, config: deps.config, sources }),
    };
    built.set(deps, r);
  }
  return r;
}
