// ESM entry: a thin re-export of the CommonJS build.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const api = require('./index.js');
export const {
  ERROR_KINDS, KNOWN_SCOPES, HoopAuthError, App, parseCallback, generateState, parseTokenResponse,
  classifyResponse, parseRateLimitHeaders, RateLimiter, TokenSession, verifyWebhook, WebhookVerifier,
  parseWebhookEvent, suggestScope, MemoryTokenStore, Client,
  RedisStore, MemorySharedStore, SharedWebhookVerifier, REDIS_READ_SCRIPT, REDIS_CAS_SCRIPT, SQLITE_SCHEMA,
  SHARED_TTL_MS, SHARED_LEASE_MS, redisKey, redisWebhookKey, configFromEnv, webhookVerifierFromEnv,
} = api;
export default api;
