// Compiled by `npm run types` (tsc --strict): the package's types as a CommonJS TypeScript
// project sees them through `require`. Each @ts-expect-error line must stay an error.
import sdk = require('miniguard-sdk');
import type { Client, MiniguardErrorCode, Response } from 'miniguard-sdk';

const client: Client = sdk.createClient({ baseUrl: 'https://api.example.com', platform: 'wechat' });

async function flow(): Promise<number> {
  const { user, expiresIn } = await client.login();
  const id: number | undefined = user && user.id;
  const res: Response<{ items: Array<{ id: string }> }> = await client.request({
    method: 'GET',
    path: '/v1/collections/goods/records',
    query: { filter: 'status = "on_sale"', limit: 20, tag: ['a', 'b'] },
  });
  await client.request({ method: 'POST', path: '/v1/collections/orders/records', data: { item: res.data.items[0].id, quantity: 1 } });
  await client.refresh();
  const box = sdk.secureStorage(client);
  await box.set('draft', { text: 'hello' });
  const draft = await box.get<{ text: string }>('draft');
  await client.logout();
  return (id || 0) + expiresIn + (draft ? draft.text.length : 0);
}

function describe(e: unknown): string {
  if (e instanceof sdk.MiniguardError) {
    const code: MiniguardErrorCode = e.code;
    return code + (e.status !== undefined ? ' ' + e.status : '') + (e.requestId || '');
  }
  return String(e);
}

const signature: string = sdk.sign('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', {
  method: 'GET',
  path: '/v1/me',
  timestamp: 1700000000,
  nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
});
const bytes: Uint8Array | null = sdk.b64urlDecode(signature);

// @ts-expect-error: the platform is one of three names
sdk.createClient({ baseUrl: 'https://api.example.com', platform: 'web' });
// @ts-expect-error: baseUrl is required
sdk.createClient({ platform: 'wechat' });
// @ts-expect-error: path is required
client.request({ method: 'GET' });
// @ts-expect-error: isLoggedIn answers a boolean
const loggedIn: string = client.isLoggedIn();

export { flow, describe, bytes, loggedIn };
