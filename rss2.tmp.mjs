for (const m of process.argv.slice(2)) await import(`@kubernetes/client-node/dist/${m}`);
if (globalThis.gc) gc();
await new Promise(r => setTimeout(r, 500));
const u = process.memoryUsage();
console.log(process.argv.slice(2).join(',').padEnd(30), 'rss', (u.rss/2**20).toFixed(1), 'heap', (u.heapUsed/2**20).toFixed(1), 'ext', (u.external/2**20).toFixed(1));
