/**
 * The floor for the agent's memory: a process that does nothing but keep client-node's own
 * informer (`ListWatch`, with its object cache) over the pods of one node, with no-op handlers.
 *
 *   node bench/support/bare-list-watch.ts <kubeconfig> <node name>
 *
 * Tells its parent (IPC) how many pods it holds after every change, so the parent knows when
 * the pods are observed; runs until killed.
 */
import { CoreV1Api, KubeConfig, ListWatch, Watch, type V1Pod } from '@kubernetes/client-node';

const [kubeconfig, node] = process.argv.slice(2);
if (kubeconfig === undefined || node === undefined) {
  process.stderr.write('usage: bare-list-watch.ts <kubeconfig> <node name>\n');
  process.exit(2);
}
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const fieldSelector = `spec.nodeName=${node}`;
const informer = new ListWatch<V1Pod>(
  '/api/v1/pods',
  new Watch(kc),
  () => core.listPodForAllNamespaces({ fieldSelector }),
  false,
  undefined,
  fieldSelector,
);
let last = -1;
const report = (): void => {
  const count = informer.list().length;
  if (count === last) return;
  last = count;
  process.send?.({ pods: count });
};
informer.on('add', report);
informer.on('update', () => undefined);
informer.on('delete', report);
informer.on('connect', report);
// client-node's informer stops on errors other than 410; restart it as the design says.
informer.on('error', () => setTimeout(() => void informer.start(), 1_000));
await informer.start();
report();
