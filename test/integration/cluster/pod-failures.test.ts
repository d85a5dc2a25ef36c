import { describe, expect, it } from 'vitest';
import {
  adminClient,
  createPod,
  freshNamespace,
  getPod,
  makePodCrashLoop,
  makePodErrImagePull,
  makePodImagePullBackOff,
  makePodOOMKilled,
  podCondition,
  STATUS_OWNER_ANNOTATION,
  waitFor,
  waitForPodRunning,
  type Pod,
} from '../../cluster/fixtures.ts';

function onlyContainer(pod: Pod) {
  const statuses = pod.status?.containerStatuses ?? [];
  expect(statuses).toHaveLength(1);
  return statuses[0]!;
}

function expectNotReady(pod: Pod) {
  for (const type of ['Ready', 'ContainersReady']) {
    expect(podCondition(pod, type)).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [app]',
    });
  }
  expect(podCondition(pod, 'PodScheduled')?.status).toBe('True');
}

describe('pod failure fixtures', () => {
  it('make a running pod crash-loop with the status the kubelet writes', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'crashloop' });
    await createPod(client, ns, { name: 'crasher', image: 'busybox:1.36' });
    const running = await waitForPodRunning(client, ns, 'crasher');

    await makePodCrashLoop(client, ns, 'crasher', { restartCount: 4 });
    const pod = await getPod(client, ns, 'crasher');

    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.podIP).toBe(running.status?.podIP);
    const c = onlyContainer(pod);
    expect(c).toMatchObject({
      name: 'app',
      image: 'docker.io/library/busybox:1.36',
      ready: false,
      started: false,
      restartCount: 4,
    });
    expect(c.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(c.state?.waiting?.message).toBe(
      `back-off 1m20s restarting failed container=app pod=crasher_${ns}(${pod.metadata.uid})`,
    );
    const last = c.lastState?.terminated;
    expect(last).toMatchObject({ reason: 'Error', exitCode: 1 });
    expect(Date.parse(last!.startedAt!)).toBeLessThan(Date.parse(last!.finishedAt!));
    expect(last?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(c.imageID).toMatch(/^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/);
    expectNotReady(pod);
  });

  it('report an OOM-killed container as the kubelet does', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'oom' });
    await createPod(client, ns, { name: 'hungry' });
    await makePodOOMKilled(client, ns, 'hungry', { restartCount: 2 });
    const pod = await getPod(client, ns, 'hungry');

    const c = onlyContainer(pod);
    expect(c.lastState?.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    expect(c.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(c.state?.waiting?.message).toMatch(/^back-off 20s restarting failed container=app /);
    expect(c.restartCount).toBe(2);
    expect(pod.status?.phase).toBe('Running');
    expectNotReady(pod);
  });

  it('fail a pod that must not restart when its container is OOM-killed', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'oom-never' });
    await createPod(client, ns, { name: 'once', restartPolicy: 'Never' });
    await makePodOOMKilled(client, ns, 'once');
    const pod = await getPod(client, ns, 'once');

    expect(pod.status?.phase).toBe('Failed');
    const c = onlyContainer(pod);
    expect(c.state?.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    expect(c.restartCount).toBe(0);
    expect(podCondition(pod, 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });

  it('leave a new pod Pending in ImagePullBackOff', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'backoff' });
    await createPod(client, ns, {
      name: 'missing',
      image: 'registry.example.test/team/app:v404',
      statusOwned: true,
    });
    await makePodImagePullBackOff(client, ns, 'missing');
    const pod = await getPod(client, ns, 'missing');

    expect(pod.status?.phase).toBe('Pending');
    const c = onlyContainer(pod);
    expect(c).toMatchObject({ ready: false, started: false, restartCount: 0, imageID: '' });
    expect(c.state?.waiting?.reason).toBe('ImagePullBackOff');
    expect(c.state?.waiting?.message).toMatch(
      /^Back-off pulling image "registry\.example\.test\/team\/app:v404": ErrImagePull: .*not found$/,
    );
    expect(c.lastState?.terminated).toBeUndefined();
    expect(c.containerID).toBeUndefined();
    expect(pod.status?.hostIP).toBe('127.0.0.1');
    expect(pod.status?.podIP).toMatch(/^10\.244\./);
    expectNotReady(pod);
  });

  it('leave a new pod Pending in ErrImagePull', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'errpull' });
    await createPod(client, ns, { name: 'typo', image: 'ngnix:1.27', statusOwned: true });
    await makePodErrImagePull(client, ns, 'typo');
    const pod = await getPod(client, ns, 'typo');

    expect(pod.status?.phase).toBe('Pending');
    const c = onlyContainer(pod);
    expect(c.state?.waiting?.reason).toBe('ErrImagePull');
    expect(c.state?.waiting?.message).toBe(
      'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/ngnix:1.27": ' +
        'failed to resolve reference "docker.io/library/ngnix:1.27": docker.io/library/ngnix:1.27: not found',
    );
    expect(c.image).toBe('docker.io/library/ngnix:1.27');
  });

  it('keep a failure status while kwok goes on running other pods on the same node', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'sticky' });
    await createPod(client, ns, { name: 'crasher' });
    const crashed = await makePodCrashLoop(client, ns, 'crasher');
    expect(crashed.metadata.annotations?.[STATUS_OWNER_ANNOTATION]).toBe('fixture');

    // A label change is an update kwok sees; a neighbour on the same node shows kwok is working.
    await client.patch(`/api/v1/namespaces/${ns}/pods/crasher`, {
      metadata: { labels: { touched: 'yes' } },
    });
    await createPod(client, ns, { name: 'neighbour', nodeName: crashed.spec.nodeName });
    await waitForPodRunning(client, ns, 'neighbour');

    const pod = await getPod(client, ns, 'crasher');
    expect(pod.metadata.labels?.['touched']).toBe('yes');
    expect(onlyContainer(pod).state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(podCondition(pod, 'Ready')?.status).toBe('False');
  });

  it('let a crash-looping pod be deleted as on a real kubelet', async () => {
    const client = adminClient();
    const ns = await freshNamespace(client, { prefix: 'delete' });
    await createPod(client, ns, { name: 'crasher' });
    await makePodCrashLoop(client, ns, 'crasher');

    await client.delete(`/api/v1/namespaces/${ns}/pods/crasher`);
    const gone = await waitFor('the pod to be gone', async () => {
      const res = await client.request('GET', `/api/v1/namespaces/${ns}/pods/crasher`);
      return res.status === 404;
    });
    expect(gone).toBe(true);
  });
});
