import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNatsServer, WsTestClient, type NatsServerHandle, type TestApp } from '@app/testing';
import { CORE_SCHEMA, load } from 'js-yaml';
import { validateAgainstSchemas } from '../support/kubernetes';
import { scrapeMetrics, type Scrape } from '../support/prometheus';
import { groupingLabels, selectors } from '../support/promql';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';
import { at } from '../support/tree';

/**
 * The Grafana dashboard (deploy/grafana) and the alert rules (deploy/prometheus/alerts.yml) name
 * only metrics and labels a replica really exports: each is looked up on a live /metrics, after
 * enough traffic that every labelled series has a sample.
 */

const ROOT = join(__dirname, '..', '..');
/** Labels Prometheus adds to every scraped series (not in /metrics). */
const TARGET_LABELS = new Set(['instance', 'job']);
const HISTOGRAM_SERIES = /_(bucket|count|sum)$/;

interface Rule {
  alert: string;
  expr: string;
}
interface Panel {
  title: string;
  targets?: { expr: string }[];
}

const alertGroups = at(
  load(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8'), { schema: CORE_SCHEMA }),
  'groups',
) as { rules: Rule[] }[];
const rules = alertGroups.flatMap((group) => group.rules);
const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/realtime.json'), 'utf8')) as {
  panels: Panel[];
};
const expressions = [
  ...rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({ where: `panel "${panel.title}"`, expr: t.expr })),
  ),
];

describe('dashboard and alert rules against /metrics', () => {
  let nats: NatsServerHandle;
  let app: TestApp;
  let metrics: Scrape;
  /** Metric family (as in `# TYPE`) → its type. */
  let types: Map<string, string>;

  beforeAll(async () => {
    nats = await startNatsServer();
    app = await startReplica({ NATS_URL: nats.url, REPLICA_ID: 'observability' });
    // Traffic that gives every labelled series the dashboard and rules use a sample.
    const alice = await WsTestClient.open(app.wsUrl, { token: tokenFor('obs-alice') });
    await alice.call('chat.join', { room: 'obs' });
    await alice.call('chat.send', { room: 'obs', body: 'hello' });
    await alice.nextEvent('chat.message');
    const bob = await WsTestClient.open(app.wsUrl, { token: tokenFor('obs-bob') });
    await bob.call('chat.join', { room: 'obs', since: 0 });
    await bob.nextEvent('chat.message');
    await Promise.all([alice.close(), bob.close()]);
    metrics = await scrapeMetrics(app.url);
    types = new Map(
      [...metrics.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
  });

  afterAll(async () => {
    await app?.close();
    await nats?.stop();
  });

  it('finds expressions to check in both files', () => {
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect(dashboard.panels.filter((p) => p.targets?.length).length).toBeGreaterThanOrEqual(10);
    for (const { where, expr } of expressions) {
      expect({ where, selectors: selectors(expr).length }).not.toEqual({ where, selectors: 0 });
    }
  });

  it('uses only metrics that /metrics exports', () => {
    const family = (name: string): string | undefined => {
      if (types.has(name)) return name;
      const base = name.replace(HISTOGRAM_SERIES, '');
      return base !== name && types.get(base) === 'histogram' ? base : undefined;
    };
    const missing = expressions.flatMap(({ where, expr }) =>
      selectors(expr)
        .filter((s) => family(s.metric) === undefined)
        .map((s) => `${where}: ${s.metric}`),
    );
    expect(missing).toEqual([]);
  });

  it('matches and groups only by labels those metrics carry', () => {
    const labelsOf = (metric: string): Set<string> =>
      new Set(
        metrics.samples.filter((s) => s.name === metric).flatMap((s) => Object.keys(s.labels)),
      );
    const wrong: string[] = [];
    for (const { where, expr } of expressions) {
      const used = selectors(expr);
      for (const { metric, labels } of used) {
        for (const label of labels) {
          if (!labelsOf(metric).has(label)) wrong.push(`${where}: ${metric}{${label}}`);
        }
      }
      for (const label of groupingLabels(expr)) {
        const carried = TARGET_LABELS.has(label) || used.some((s) => labelsOf(s.metric).has(label));
        if (!carried) wrong.push(`${where}: by (${label})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has rule groups a Prometheus Operator PrometheusRule accepts as they are', () => {
    const rule = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'realtime' },
      spec: { groups: alertGroups },
    };
    expect(validateAgainstSchemas([rule], ROOT)).toEqual([{ id: 'PrometheusRule/realtime' }]);
  });

  it('checks what it claims: an unknown metric or label is reported', () => {
    expect(selectors('sum by (instance) (rate(realtime_nope_total{reason="x"}[5m])) > 0')).toEqual([
      { metric: 'realtime_nope_total', labels: ['reason'] },
    ]);
    expect(types.has('realtime_nope_total')).toBe(false);
    expect(groupingLabels('sum by (le, instance) (x)')).toEqual(['le', 'instance']);
  });
});
