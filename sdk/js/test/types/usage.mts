// Compiled by `npm run types`: the ES module entry's types (named and default exports).
import sdk, { createClient, secureStorage, MiniguardError } from 'miniguard-sdk';
import type { SecureStorage } from 'miniguard-sdk';

const client = createClient({ baseUrl: 'http://127.0.0.1:8443', platform: 'douyin', dev: true });
const box: SecureStorage = secureStorage(client, {
  storage: { getItem: () => null, setItem: () => undefined, removeItem: () => undefined },
});
const same: typeof createClient = sdk.createClient;
const err = new MiniguardError('transport', 'offline');
const hash: string = sdk.bodySha256('');
// @ts-expect-error: secureStorage needs a client
secureStorage({});

export { box, same, err, hash };
