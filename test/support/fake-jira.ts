/**
 * A local server speaking the Jira Cloud REST API v3 for the endpoints kube-remedy uses: create
 * an issue (with labels and issue properties), JQL search (`/search/jql`, the subset kube-remedy
 * writes: `field = "value"` and `field != value` joined by AND, then ORDER BY), read an issue,
 * comments, transitions. jira.js reaches it by host URL and checks every answer against its
 * schemas (tests create the client with onSchemaMismatch: 'throw'). Descriptions and comments
 * must be Atlassian Document Format documents; malformed ones are refused with 400, as Jira does,
 * and recorded in `violations`.
 */
import {
  HttpFake,
  reply,
  type FakeRequest,
  type FakeResponse,
  type InjectedFailure,
  type LoggedRequest,
} from './fake-github.ts';

type Category = 'new' | 'indeterminate' | 'done';

const STATUSES: Record<string, { id: string; name: string; category: Category }> = {
  todo: { id: '10000', name: 'To Do', category: 'new' },
  progress: { id: '10001', name: 'In Progress', category: 'indeterminate' },
  done: { id: '10002', name: 'Done', category: 'done' },
};

const CATEGORY_IDS: Record<Category, number> = { new: 2, indeterminate: 4, done: 3 };

/** The workflow: transitions available from every status. */
const TRANSITIONS = [
  { id: '11', name: 'Start progress', to: 'progress' },
  { id: '21', name: 'Resolve', to: 'done' },
  { id: '31', name: 'Reopen', to: 'todo' },
] as const;

export interface FakeJiraIssue {
  id: string;
  key: string;
  project: string;
  summary: string;
  issueType: string;
  description: unknown;
  labels: string[];
  properties: Record<string, unknown>;
  status: keyof typeof STATUSES;
  comments: { id: string; body: unknown; created: string }[];
  created: string;
}

const MARKS = new Set([
  'strong',
  'em',
  'code',
  'link',
  'strike',
  'underline',
  'textColor',
  'subsup',
]);
const NODES = new Set([
  'paragraph',
  'heading',
  'bulletList',
  'orderedList',
  'listItem',
  'codeBlock',
  'text',
  'hardBreak',
  'rule',
  'blockquote',
  'panel',
]);

/** Problems with an ADF document, in the spirit of Jira's validation (empty when fine). */
export function adfProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const root = doc as { type?: unknown; version?: unknown; content?: unknown };
  if (
    typeof doc !== 'object' ||
    doc === null ||
    root.type !== 'doc' ||
    root.version !== 1 ||
    !Array.isArray(root.content)
  ) {
    return ['not an ADF document ({type: doc, version: 1, content: [...]})'];
  }
  const visit = (node: unknown, path: string): void => {
    const n = node as {
      type?: unknown;
      text?: unknown;
      content?: unknown;
      marks?: unknown;
      attrs?: unknown;
    };
    if (typeof n.type !== 'string' || !NODES.has(n.type)) {
      problems.push(`${path}: unknown node type ${String(n.type)}`);
      return;
    }
    if (n.type === 'text') {
      if (typeof n.text !== 'string' || n.text.length === 0)
        problems.push(`${path}: a text node needs non-empty text`);
      const marks = (n.marks ?? []) as { type?: string; attrs?: { href?: unknown } }[];
      for (const mark of marks) {
        if (mark.type === undefined || !MARKS.has(mark.type))
          problems.push(`${path}: unknown mark ${String(mark.type)}`);
        if (mark.type === 'link' && typeof mark.attrs?.href !== 'string')
          problems.push(`${path}: a link needs attrs.href`);
      }
      if (
        marks.some((m) => m.type === 'code') &&
        marks.some((m) => m.type !== 'code' && m.type !== 'link')
      ) {
        problems.push(`${path}: the code mark combines only with link`);
      }
      return;
    }
    if (
      n.type === 'heading' &&
      ![1, 2, 3, 4, 5, 6].includes((n.attrs as { level?: number } | undefined)?.level ?? 0)
    ) {
      problems.push(`${path}: a heading needs attrs.level 1-6`);
    }
    if (n.type === 'listItem' || n.type === 'bulletList') {
      if (!Array.isArray(n.content) || n.content.length === 0)
        problems.push(`${path}: ${n.type} needs content`);
    }
    if (
      n.type === 'bulletList' &&
      Array.isArray(n.content) &&
      n.content.some((c) => (c as { type?: string }).type !== 'listItem')
    ) {
      problems.push(`${path}: a bulletList holds listItems only`);
    }
    if (n.content !== undefined) {
      if (!Array.isArray(n.content)) problems.push(`${path}: content must be an array`);
      else n.content.forEach((child, i) => visit(child, `${path}.content[${i}]`));
    }
  };
  root.content.forEach((node, i) => visit(node, `content[${i}]`));
  return problems;
}

function text(node: unknown): string {
  const n = node as { type?: string; text?: string; content?: unknown[] } | null;
  if (n === null || typeof n !== 'object') return '';
  if (typeof n.text === 'string') return n.text;
  const inline = n.type === 'paragraph' || n.type === 'heading' || n.type === 'codeBlock';
  return (n.content ?? []).map(text).join(inline ? '' : '\n');
}

export class FakeJira {
  readonly email: string;
  readonly apiToken: string;
  readonly violations: string[] = [];
  readonly issues: FakeJiraIssue[] = [];
  private readonly projects = new Set<string>();
  private readonly http: HttpFake;
  private ids = 10000;
  private clock = Date.parse('2026-11-01T00:00:00Z');

  constructor(options: { email?: string; apiToken?: string; projects?: string[] } = {}) {
    this.email = options.email ?? 'bot@example.com';
    this.apiToken = options.apiToken ?? 'jira-api-token';
    for (const p of options.projects ?? ['OPS']) this.projects.add(p);
    this.http = new HttpFake((request) => this.route(request));
  }

  get url(): string {
    return this.http.url;
  }

  get log(): LoggedRequest[] {
    return this.http.log;
  }

  start(): Promise<string> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  failNext(failure: InjectedFailure): void {
    this.http.failNext(failure);
  }

  issue(key: string): FakeJiraIssue {
    const issue = this.issues.find((i) => i.key === key);
    if (issue === undefined) throw new Error(`no issue ${key}`);
    return issue;
  }

  /** The plain text of an issue's comments. */
  commentTexts(key: string): string[] {
    return this.issue(key).comments.map((c) => text(c.body));
  }

  descriptionText(key: string): string {
    return text(this.issue(key).description);
  }

  /** A person moves the issue (e.g. closes it by hand). */
  setStatus(key: string, status: keyof typeof STATUSES): void {
    this.issue(key).status = status;
  }

  private now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace('Z', '+0000');
  }

  private self(path: string): string {
    return `${this.http.url}/rest/api/3/${path}`;
  }

  private statusJson(status: keyof typeof STATUSES) {
    const s = STATUSES[status] as (typeof STATUSES)[string];
    return {
      self: this.self(`status/${s.id}`),
      id: s.id,
      name: s.name,
      statusCategory: {
        self: this.self(`statuscategory/${CATEGORY_IDS[s.category]}`),
        id: CATEGORY_IDS[s.category],
        key: s.category,
        name: s.category === 'done' ? 'Done' : s.category === 'new' ? 'To Do' : 'In Progress',
      },
    };
  }

  private issueJson(issue: FakeJiraIssue, fields: string[] | undefined): Record<string, unknown> {
    const all: Record<string, unknown> = {
      summary: issue.summary,
      status: this.statusJson(issue.status),
      labels: issue.labels,
      description: issue.description,
      created: issue.created,
      project: { key: issue.project, id: '1', self: this.self('project/1'), name: issue.project },
      issuetype: { name: issue.issueType, id: '3', self: this.self('issuetype/3') },
    };
    const wanted = fields === undefined || fields.includes('*all') ? Object.keys(all) : fields;
    return {
      id: issue.id,
      key: issue.key,
      self: this.self(`issue/${issue.id}`),
      fields: Object.fromEntries(wanted.filter((f) => f in all).map((f) => [f, all[f]])),
    };
  }

  private commentJson(issue: FakeJiraIssue, c: FakeJiraIssue['comments'][number]) {
    const author = {
      accountId: '557058:bot',
      displayName: 'kube-remedy',
      active: true,
      self: this.self('user?accountId=557058:bot'),
    };
    return {
      id: c.id,
      self: this.self(`issue/${issue.id}/comment/${c.id}`),
      body: c.body,
      author,
      updateAuthor: author,
      created: c.created,
      updated: c.created,
    };
  }

  private find(idOrKey: string): FakeJiraIssue | undefined {
    return this.issues.find((i) => i.key === idOrKey || i.id === idOrKey);
  }

  /** The JQL subset kube-remedy writes; anything else is a 400, as an unparsable query is. */
  private search(jql: string): FakeJiraIssue[] | string {
    const [where, order] = jql.split(/\s+ORDER BY\s+/i) as [string, string | undefined];
    const clauses = where.split(/\s+AND\s+/);
    const tests: ((i: FakeJiraIssue) => boolean)[] = [];
    for (const clause of clauses) {
      const m = /^(\w+)\s*(=|!=)\s*(?:"((?:[^"\\]|\\.)*)"|(\w+))$/.exec(clause.trim());
      if (m === null) return `Error in the JQL Query: cannot parse "${clause}"`;
      const [, field, op, quoted, bare] = m;
      const value = (quoted ?? bare ?? '').replace(/\\(.)/g, '$1');
      const of = (i: FakeJiraIssue): string[] => {
        switch (field) {
          case 'project':
            return [i.project];
          case 'labels':
            return i.labels;
          case 'statusCategory': {
            const c = STATUSES[i.status]?.category;
            return [c === 'done' ? 'Done' : c === 'new' ? 'To Do' : 'In Progress'];
          }
          case 'status':
            return [STATUSES[i.status]?.name ?? ''];
          default:
            return ['\u0000unknown'];
        }
      };
      if (!['project', 'labels', 'statusCategory', 'status'].includes(field as string)) {
        return `Field '${String(field)}' does not exist or you do not have permission to view it.`;
      }
      tests.push((i) => (op === '=' ? of(i).includes(value) : !of(i).includes(value)));
    }
    const found = this.issues.filter((i) => tests.every((t) => t(i)));
    if (order !== undefined && /created\s+DESC/i.test(order)) found.reverse();
    return found;
  }

  private route(request: FakeRequest): FakeResponse {
    const expected = `Basic ${Buffer.from(`${this.email}:${this.apiToken}`).toString('base64')}`;
    if (request.headers.authorization !== expected)
      return reply(401, 'Client must be authenticated to access this resource.');
    const [rest, api, version, area, id, sub] = request.segments;
    if (rest !== 'rest' || api !== 'api' || version !== '3')
      return reply(404, { errorMessages: ['Not found'] });
    const body = (request.body ?? {}) as Record<string, unknown>;
    const m = request.method;
    if (area === 'issue' && id === undefined && m === 'POST') return this.create(body);
    if (area === 'search' && id === 'jql' && m === 'GET') {
      const found = this.search(request.query.get('jql') ?? '');
      if (typeof found === 'string')
        return reply(400, { errorMessages: [found], warningMessages: [] });
      const max = Number(request.query.get('maxResults') ?? 50);
      const fields = request.query.get('fields')?.split(',');
      return reply(200, {
        issues: found.slice(0, max).map((i) => this.issueJson(i, fields ?? ['*all'])),
        isLast: found.length <= max,
      });
    }
    if (area !== 'issue' || id === undefined) return reply(404, { errorMessages: ['Not found'] });
    const issue = this.find(id);
    if (issue === undefined)
      return reply(404, {
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      });
    if (sub === undefined && m === 'GET')
      return reply(200, this.issueJson(issue, request.query.get('fields')?.split(',')));
    if (sub === 'comment' && m === 'GET') {
      const ordered =
        request.query.get('orderBy') === '-created'
          ? [...issue.comments].reverse()
          : issue.comments;
      const max = Number(request.query.get('maxResults') ?? 50);
      return reply(200, {
        comments: ordered.slice(0, max).map((c) => this.commentJson(issue, c)),
        maxResults: max,
        startAt: 0,
        total: issue.comments.length,
      });
    }
    if (sub === 'comment' && m === 'POST') {
      const problems = adfProblems(body['body']);
      if (problems.length > 0) {
        this.violations.push(...problems.map((p) => `comment on ${issue.key}: ${p}`));
        return reply(400, { errorMessages: [], errors: { comment: 'Comment body is not valid!' } });
      }
      const comment = { id: String(++this.ids), body: body['body'], created: this.now() };
      issue.comments.push(comment);
      return reply(201, this.commentJson(issue, comment));
    }
    if (sub === 'transitions' && m === 'GET') {
      return reply(200, {
        transitions: TRANSITIONS.filter((t) => t.to !== issue.status).map((t) => ({
          id: t.id,
          name: t.name,
          to: this.statusJson(t.to),
          hasScreen: false,
          isGlobal: true,
          isInitial: false,
          isAvailable: true,
          isConditional: false,
          isLooped: false,
        })),
      });
    }
    if (sub === 'transitions' && m === 'POST') {
      const transition = TRANSITIONS.find(
        (t) => t.id === (body['transition'] as { id?: string } | undefined)?.id,
      );
      if (transition === undefined)
        return reply(400, {
          errorMessages: ['Transition id is not valid for this issue.'],
          errors: {},
        });
      issue.status = transition.to;
      return reply(204);
    }
    return reply(404, { errorMessages: ['Not found'] });
  }

  private create(body: Record<string, unknown>): FakeResponse {
    const fields = (body['fields'] ?? {}) as Record<string, unknown>;
    const project = (fields['project'] as { key?: string } | undefined)?.key;
    const errors: Record<string, string> = {};
    if (project === undefined || !this.projects.has(project))
      errors['project'] = 'valid project is required';
    if (typeof fields['summary'] !== 'string' || fields['summary'] === '')
      errors['summary'] = 'You must specify a summary of the issue.';
    if (typeof (fields['issuetype'] as { name?: unknown } | undefined)?.name !== 'string')
      errors['issuetype'] = 'valid issue type is required';
    const labels = (fields['labels'] ?? []) as unknown[];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || /\s/.test(l)))
      errors['labels'] = 'labels cannot contain spaces';
    const problems = fields['description'] === undefined ? [] : adfProblems(fields['description']);
    if (problems.length > 0) {
      this.violations.push(...problems.map((p) => `description: ${p}`));
      errors['description'] =
        'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
    }
    if (Object.keys(errors).length > 0) return reply(400, { errorMessages: [], errors });
    const properties: Record<string, unknown> = {};
    for (const p of (body['properties'] ?? []) as { key?: string; value?: unknown }[]) {
      if (p.key !== undefined) properties[p.key] = p.value;
    }
    const id = String(++this.ids);
    const key = `${project as string}-${this.issues.filter((i) => i.project === project).length + 1}`;
    this.issues.push({
      id,
      key,
      project: project as string,
      summary: fields['summary'] as string,
      issueType: (fields['issuetype'] as { name: string }).name,
      description: fields['description'],
      labels: labels as string[],
      properties,
      status: 'todo',
      comments: [],
      created: this.now(),
    });
    return reply(201, { id, key, self: this.self(`issue/${id}`) });
  }
}
