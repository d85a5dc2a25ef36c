export * from './kube.ts';
export * from './observation.ts';
export * from './observe.ts';
export * from './workload.ts';
