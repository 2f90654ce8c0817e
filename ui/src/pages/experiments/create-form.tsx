import { useState } from 'preact/hooks';
import { api } from '../../api.js';
import { ErrorNotice } from '../../components/notices.js';
import { KIND_LABEL } from './summary.js';
import { type Experiment, KINDS, type Kind } from './types.js';

/** The API's name rules (src/ports/experiment-api.ts, experiment-schemas.ts), checked before sending. */
const EXPERIMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface ArmDraft {
  name: string;
  /** A version number or an alias name. */
  ref: string;
  weight: string;
}

interface MetricDraft {
  name: string;
  kind: 'binary' | 'numeric';
}

interface Draft {
  name: string;
  type: Kind;
  model: string;
  description: string;
  coverage: string;
  arms: ArmDraft[];
  metrics: MetricDraft[];
  powerBaseline: string;
  powerMde: string;
  powerRelative: boolean;
  banditPolicy: string;
  banditUpdateEveryMs: string;
  canarySteps: string;
  canaryMinRequests: string;
  canaryMinStepMs: string;
  shadowSampleRate: string;
}

const START: Draft = {
  name: '',
  type: 'ab',
  model: 'tagifai',
  description: '',
  coverage: '1',
  arms: [
    { name: 'control', ref: 'production', weight: '' },
    { name: 'treatment', ref: '', weight: '' },
  ],
  metrics: [{ name: 'accepted', kind: 'binary' }],
  powerBaseline: '',
  powerMde: '',
  powerRelative: true,
  banditPolicy: 'thompson',
  banditUpdateEveryMs: '3600000',
  canarySteps: '0.05, 0.25, 0.5, 1',
  canaryMinRequests: '100',
  canaryMinStepMs: '60000',
  shadowSampleRate: '1',
};

class DraftError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function num(field: string, raw: string, min: number, max: number, integer = false): number {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new DraftError(
      field,
      `${field} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  }
  return n;
}

/** The POST /v1/experiments body, or a DraftError naming the first field that is wrong. */
export function buildDefinition(d: Draft): Record<string, unknown> {
  const name = d.name.trim();
  if (!EXPERIMENT_NAME.test(name)) {
    throw new DraftError(
      'name',
      'name: 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or a digit',
    );
  }
  if (d.model.trim() === '' || d.model.length > 63)
    throw new DraftError('model', 'model: a registered model name');
  const twoArms = d.type === 'canary' || d.type === 'shadow';
  if (twoArms && d.arms.length !== 2) {
    throw new DraftError(
      'arms',
      'a canary or a shadow test has exactly two arms: production, then the candidate',
    );
  }
  if (d.arms.length < 2 || d.arms.length > 20) throw new DraftError('arms', 'arms: 2 to 20');
  const seen = new Set<string>();
  const withWeight = d.arms.filter((a) => a.weight.trim() !== '').length;
  if (!twoArms && withWeight !== 0 && withWeight !== d.arms.length) {
    throw new DraftError('arms', 'weights: give one on every arm, or on none (equal weights)');
  }
  const arms = d.arms.map((a, i) => {
    const label = `arm ${i + 1}`;
    const armName = a.name.trim();
    if (!ARM_NAME.test(armName))
      throw new DraftError(`${label} name`, `${label}: a name of letters, digits, ".", "_" or "-"`);
    if (seen.has(armName))
      throw new DraftError(`${label} name`, `${label}: the name "${armName}" is used twice`);
    seen.add(armName);
    const ref = a.ref.trim();
    if (ref === '') throw new DraftError(`${label} version`, `${label}: a version number or an alias`);
    const arm: Record<string, unknown> = { name: armName };
    if (/^[0-9]+$/.test(ref)) arm.version = num(`${label} version`, ref, 1, 1e9, true);
    else arm.alias = ref;
    if (!twoArms && withWeight > 0) arm.weight = num(`${label} weight`, a.weight, 0, 1);
    return arm;
  });
  if (!twoArms && withWeight > 0) {
    const sum = arms.reduce((s, a) => s + (a.weight as number), 0);
    if (Math.abs(sum - 1) > 1e-9) throw new DraftError('arms', `the weights sum to ${sum}, not 1`);
  }
  const metricNames = new Set<string>();
  const metrics = d.metrics.map((m, i) => {
    const label = `metric ${i + 1}`;
    const metricName = m.name.trim();
    if (!ARM_NAME.test(metricName))
      throw new DraftError(`${label} name`, `${label}: a name of letters, digits, ".", "_" or "-"`);
    if (metricNames.has(metricName))
      throw new DraftError(`${label} name`, `${label}: "${metricName}" is used twice`);
    metricNames.add(metricName);
    return { name: metricName, kind: m.kind };
  });
  if ((d.type === 'ab' || d.type === 'bandit') && metrics.length === 0) {
    throw new DraftError('metrics', 'an A/B test or a bandit needs at least one metric');
  }
  const body: Record<string, unknown> = {
    name,
    type: d.type,
    model: d.model.trim(),
    arms,
    coverage: num('coverage', d.coverage, 0, 1),
  };
  if (metrics.length > 0) body.metrics = metrics;
  if (d.description.trim() !== '') {
    if (d.description.length > 2000)
      throw new DraftError('description', 'description: at most 2,000 characters');
    body.description = d.description;
  }
  if (d.type === 'ab' && (d.powerBaseline.trim() !== '' || d.powerMde.trim() !== '')) {
    body.power = {
      baseline: num('power baseline', d.powerBaseline, 0, 1),
      mde: num('power MDE', d.powerMde, 0, 1e12),
      relative: d.powerRelative,
    };
  }
  if (d.type === 'bandit') {
    body.bandit = {
      policy: d.banditPolicy,
      updateEveryMs: num('bandit update period', d.banditUpdateEveryMs, 1, Number.MAX_SAFE_INTEGER, true),
    };
  }
  if (d.type === 'canary') {
    const steps = d.canarySteps
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => num('canary steps', s, 0, 1));
    if (steps.length === 0 || steps.some((s, i) => s <= (i === 0 ? 0 : steps[i - 1]!)) || steps[0] === 1) {
      throw new DraftError('canary steps', 'canary steps: increasing shares in (0, 1], the first below 1');
    }
    body.canary = {
      steps,
      minRequestsPerStep: num(
        'canary requests per step',
        d.canaryMinRequests,
        1,
        Number.MAX_SAFE_INTEGER,
        true,
      ),
      minStepDurationMs: num('canary step time', d.canaryMinStepMs, 0, Number.MAX_SAFE_INTEGER),
    };
  }
  if (d.type === 'shadow') body.shadow = { sampleRate: num('shadow sample rate', d.shadowSampleRate, 0, 1) };
  return body;
}

/** A form for POST /v1/experiments: checked here first, then the API's own answer is shown. */
export function CreateForm({ onCreated }: { onCreated: (name: string) => void }) {
  const [d, setD] = useState<Draft>(START);
  const [invalid, setInvalid] = useState<DraftError | null>(null);
  const [apiError, setApiError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => setD((old) => ({ ...old, ...patch }));
  const setArm = (i: number, patch: Partial<ArmDraft>) =>
    set({ arms: d.arms.map((a, j) => (j === i ? { ...a, ...patch } : a)) });
  const setMetric = (i: number, patch: Partial<MetricDraft>) =>
    set({ metrics: d.metrics.map((m, j) => (j === i ? { ...m, ...patch } : m)) });
  const twoArms = d.type === 'canary' || d.type === 'shadow';

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setApiError(undefined);
    let body: Record<string, unknown>;
    try {
      body = buildDefinition(d);
      setInvalid(null);
    } catch (e) {
      if (e instanceof DraftError) {
        setInvalid(e);
        return;
      }
      throw e;
    }
    setBusy(true);
    try {
      const created = await api<{ experiment: Experiment }>('/v1/experiments', { method: 'POST', body });
      onCreated(created.experiment.name);
    } catch (e) {
      setApiError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="exp-form" onSubmit={submit} aria-labelledby="exp-create-title" noValidate>
      <h2 id="exp-create-title">New experiment</h2>
      <div class="exp-fields">
        <label for="exp-name">Name</label>
        <input
          id="exp-name"
          value={d.name}
          maxLength={100}
          required
          aria-describedby="exp-name-help"
          onInput={(e) => set({ name: e.currentTarget.value })}
        />
        <span id="exp-name-help" class="muted">
          Unique forever: letters, digits, “.”, “_”, “-”.
        </span>
        <label for="exp-type">Kind</label>
        <select
          id="exp-type"
          value={d.type}
          onChange={(e) => {
            const type = e.currentTarget.value as Kind;
            const two = type === 'canary' || type === 'shadow';
            set({
              type,
              arms: two
                ? [
                    { name: 'production', ref: 'production', weight: '' },
                    { name: type === 'canary' ? 'canary' : 'shadow', ref: d.arms[1]?.ref ?? '', weight: '' },
                  ]
                : d.arms,
            });
          }}
        >
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {KIND_LABEL[k]}
            </option>
          ))}
        </select>
        <span />
        <label for="exp-model">Model</label>
        <input
          id="exp-model"
          value={d.model}
          maxLength={63}
          onInput={(e) => set({ model: e.currentTarget.value })}
        />
        <span />
        <label for="exp-description">Description</label>
        <textarea
          id="exp-description"
          rows={2}
          maxLength={2000}
          value={d.description}
          onInput={(e) => set({ description: e.currentTarget.value })}
        />
        <span />
        <label for="exp-coverage">Coverage</label>
        <input
          id="exp-coverage"
          inputMode="decimal"
          value={d.coverage}
          aria-describedby="exp-coverage-help"
          onInput={(e) => set({ coverage: e.currentTarget.value })}
        />
        <span id="exp-coverage-help" class="muted">
          Share of units in the experiment, 0 to 1.
        </span>
      </div>

      <fieldset>
        <legend>
          Arms {twoArms ? '(production first, then the candidate)' : '(the first is the control)'}
        </legend>
        {d.arms.map((a, i) => (
          <div class="exp-row" key={i}>
            <label for={`exp-arm-name-${i}`}>Arm {i + 1} name</label>
            <input
              id={`exp-arm-name-${i}`}
              value={a.name}
              maxLength={64}
              onInput={(e) => setArm(i, { name: e.currentTarget.value })}
            />
            <label for={`exp-arm-ref-${i}`}>Arm {i + 1} version or alias</label>
            <input
              id={`exp-arm-ref-${i}`}
              value={a.ref}
              maxLength={100}
              onInput={(e) => setArm(i, { ref: e.currentTarget.value })}
            />
            {!twoArms && (
              <>
                <label for={`exp-arm-weight-${i}`}>Arm {i + 1} weight</label>
                <input
                  id={`exp-arm-weight-${i}`}
                  inputMode="decimal"
                  placeholder="equal"
                  value={a.weight}
                  onInput={(e) => setArm(i, { weight: e.currentTarget.value })}
                />
                <button
                  type="button"
                  disabled={d.arms.length <= 2}
                  onClick={() => set({ arms: d.arms.filter((_, j) => j !== i) })}
                >
                  Remove arm {i + 1}
                </button>
              </>
            )}
          </div>
        ))}
        {!twoArms && (
          <button
            type="button"
            disabled={d.arms.length >= 20}
            onClick={() =>
              set({ arms: [...d.arms, { name: `arm-${d.arms.length + 1}`, ref: '', weight: '' }] })
            }
          >
            Add an arm
          </button>
        )}
      </fieldset>

      <fieldset>
        <legend>Metrics {d.type === 'ab' || d.type === 'bandit' ? '(at least one)' : '(optional)'}</legend>
        {d.metrics.map((m, i) => (
          <div class="exp-row" key={i}>
            <label for={`exp-metric-name-${i}`}>Metric {i + 1} name</label>
            <input
              id={`exp-metric-name-${i}`}
              value={m.name}
              maxLength={64}
              onInput={(e) => setMetric(i, { name: e.currentTarget.value })}
            />
            <label for={`exp-metric-kind-${i}`}>Metric {i + 1} kind</label>
            <select
              id={`exp-metric-kind-${i}`}
              value={m.kind}
              onChange={(e) => setMetric(i, { kind: e.currentTarget.value as MetricDraft['kind'] })}
            >
              <option value="binary">binary (0/1: converted or not)</option>
              <option value="numeric">numeric (a sum per unit)</option>
            </select>
            <button type="button" onClick={() => set({ metrics: d.metrics.filter((_, j) => j !== i) })}>
              Remove metric {i + 1}
            </button>
          </div>
        ))}
        <button
          type="button"
          disabled={d.metrics.length >= 20}
          onClick={() => set({ metrics: [...d.metrics, { name: '', kind: 'binary' }] })}
        >
          Add a metric
        </button>
      </fieldset>

      {d.type === 'ab' && (
        <fieldset>
          <legend>Power (optional: how many units are needed)</legend>
          <div class="exp-row">
            <label for="exp-power-baseline">Control's expected rate</label>
            <input
              id="exp-power-baseline"
              inputMode="decimal"
              placeholder="0.1"
              value={d.powerBaseline}
              onInput={(e) => set({ powerBaseline: e.currentTarget.value })}
            />
            <label for="exp-power-mde">Smallest effect to detect</label>
            <input
              id="exp-power-mde"
              inputMode="decimal"
              placeholder="0.1"
              value={d.powerMde}
              onInput={(e) => set({ powerMde: e.currentTarget.value })}
            />
            <label>
              <input
                type="checkbox"
                checked={d.powerRelative}
                onChange={(e) => set({ powerRelative: e.currentTarget.checked })}
              />{' '}
              relative to the rate
            </label>
          </div>
        </fieldset>
      )}
      {d.type === 'bandit' && (
        <fieldset>
          <legend>Bandit</legend>
          <div class="exp-row">
            <label for="exp-bandit-policy">Policy</label>
            <select
              id="exp-bandit-policy"
              value={d.banditPolicy}
              onChange={(e) => set({ banditPolicy: e.currentTarget.value })}
            >
              <option value="thompson">Thompson sampling</option>
              <option value="ucb1">UCB1</option>
              <option value="epsilon-greedy">epsilon-greedy</option>
            </select>
            <label for="exp-bandit-period">Update every (ms)</label>
            <input
              id="exp-bandit-period"
              inputMode="numeric"
              value={d.banditUpdateEveryMs}
              onInput={(e) => set({ banditUpdateEveryMs: e.currentTarget.value })}
            />
          </div>
        </fieldset>
      )}
      {d.type === 'canary' && (
        <fieldset>
          <legend>Canary</legend>
          <div class="exp-row">
            <label for="exp-canary-steps">Steps (canary shares)</label>
            <input
              id="exp-canary-steps"
              value={d.canarySteps}
              onInput={(e) => set({ canarySteps: e.currentTarget.value })}
            />
            <label for="exp-canary-requests">Requests per step</label>
            <input
              id="exp-canary-requests"
              inputMode="numeric"
              value={d.canaryMinRequests}
              onInput={(e) => set({ canaryMinRequests: e.currentTarget.value })}
            />
            <label for="exp-canary-ms">Least time per step (ms)</label>
            <input
              id="exp-canary-ms"
              inputMode="numeric"
              value={d.canaryMinStepMs}
              onInput={(e) => set({ canaryMinStepMs: e.currentTarget.value })}
            />
          </div>
        </fieldset>
      )}
      {d.type === 'shadow' && (
        <fieldset>
          <legend>Shadow</legend>
          <div class="exp-row">
            <label for="exp-shadow-rate">Sample rate</label>
            <input
              id="exp-shadow-rate"
              inputMode="decimal"
              value={d.shadowSampleRate}
              onInput={(e) => set({ shadowSampleRate: e.currentTarget.value })}
            />
          </div>
        </fieldset>
      )}

      {invalid && (
        <p class="notice notice-error" role="alert" data-testid="create-invalid">
          Not sent: {invalid.message}.
        </p>
      )}
      <ErrorNotice error={apiError} what="the new experiment" />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create experiment'}
        </button>
      </div>
    </form>
  );
}
