import { describe, expect, inject, it } from 'vitest';
import { ROLES } from '../../cluster/controlplane.ts';
import {
  adminClient,
  freshNamespace,
  roleClient,
  trustClusterCa,
  waitFor,
} from '../../cluster/fixtures.ts';

interface SelfSubjectReview {
  status: { userInfo: { username: string; groups?: string[] } };
}

describe('RBAC on the test API server', () => {
  const kube = inject('kube');

  it.each(ROLES)('authenticates the %s token as its ServiceAccount user', async (role) => {
    const review = await roleClient(role).create<SelfSubjectReview>(
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      },
    );
    expect(review.status.userInfo.username).toBe(
      `system:serviceaccount:kube-remedy-system:kube-remedy-${role}`,
    );
    expect(review.status.userInfo.groups).toEqual(
      expect.arrayContaining([
        'system:serviceaccounts',
        'system:serviceaccounts:kube-remedy-system',
        'system:authenticated',
      ]),
    );
    expect(kube.roles[role].user).toBe(review.status.userInfo.username);
  });

  it('forbids a role token to list pods in a namespace where it has no binding', async () => {
    const ns = await freshNamespace(adminClient(), { prefix: 'rbac-denied' });
    const res = await roleClient('agent').request('GET', `/api/v1/namespaces/${ns}/pods`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ reason: 'Forbidden' });
  });

  it('allows a role token to list pods after a RoleBinding to its ServiceAccount, and nothing more', async () => {
    const admin = adminClient();
    const ns = await freshNamespace(admin, { prefix: 'rbac-granted' });
    await admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'pod-reader' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    });
    await admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'controller-reads-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [
        { kind: 'ServiceAccount', name: 'kube-remedy-controller', namespace: 'kube-remedy-system' },
      ],
    });
    const controller = roleClient('controller');
    const allowed = await waitFor('the RoleBinding to take effect', async () => {
      const res = await controller.request('GET', `/api/v1/namespaces/${ns}/pods`);
      return res.status === 200 ? res : undefined;
    });
    expect(allowed.body).toMatchObject({ kind: 'PodList' });

    const del = await controller.request('DELETE', `/api/v1/namespaces/${ns}/pods/anything`);
    expect(del.status).toBe(403);
    const otherRole = await roleClient('workers').request('GET', `/api/v1/namespaces/${ns}/pods`);
    expect(otherRole.status).toBe(403);
  });

  it('rejects an unknown token as unauthenticated', async () => {
    trustClusterCa(kube.caPem);
    const res = await fetch(`${kube.server}/api/v1/namespaces`, {
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(res.status).toBe(401);
  });
});
