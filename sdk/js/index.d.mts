// Types of the ES module entry (index.mjs): the named exports of index.d.ts plus a default
// export holding them all.
import * as sdk from './index.js';

export * from './index.js';
export default sdk;
