import { useState } from 'preact/hooks';
import { api, seg } from '../../api.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { type Action, validActions } from './summary.js';
import type { Experiment } from './types.js';

const WORDS: Record<Action, { label: string; title: string; explain: (e: Experiment) => string }> = {
  pause: {
    label: 'Pause',
    title: 'Pause the experiment?',
    explain: () =>
      'Every unit gets the default version until it is resumed; outcome events are still accepted.',
  },
  resume: {
    label: 'Resume',
    title: 'Resume the experiment?',
    explain: () => 'Traffic is routed between the arms again, with the same assignments as before.',
  },
  stop: {
    label: 'Stop',
    title: 'Stop the experiment?',
    explain: (e) =>
      e.type === 'canary'
        ? 'Stopping a canary aborts it: its traffic goes back to production. This cannot be undone.'
        : 'Routing ends and events are refused from now on. It can still be concluded; it cannot be resumed.',
  },
  conclude: {
    label: 'Conclude',
    title: 'Conclude the experiment?',
    explain: () =>
      'Records the decision (a winning arm, or none) and ends routing. It does not move any alias: promote the winner on the Models page.',
  },
  promote: {
    label: 'Promote',
    title: 'Promote the canary now?',
    explain: (e) =>
      `The model's production alias moves to the canary's version (${armRef(e, 1)}) whatever the figures say, and the release is concluded.`,
  },
  abort: {
    label: 'Abort',
    title: 'Abort the canary?',
    explain: () => "The canary's traffic goes back to production and the release is concluded.",
  },
};

function armRef(e: Experiment, i: number): string {
  const a = e.arms[i];
  if (!a) return '?';
  return a.version !== undefined ? `version ${a.version}` : `alias ${a.alias ?? '?'}`;
}

/** The status moves valid now, each behind a confirmation; `onDone` reloads the page's figures. */
export function ExperimentActions({ experiment: e, onDone }: { experiment: Experiment; onDone: () => void }) {
  const [open, setOpen] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [winner, setWinner] = useState('');
  const [reason, setReason] = useState('');
  const actions = validActions(e);
  if (actions.length === 0) return <p class="muted">No actions: the experiment has ended.</p>;

  const start = (a: Action) => {
    setError(undefined);
    setReason('');
    setWinner('');
    setOpen(a);
  };
  const confirm = async () => {
    if (open === null) return;
    setBusy(true);
    setError(undefined);
    const body =
      open === 'conclude'
        ? {
            winner: winner === '' ? null : winner,
            ...(reason.trim() !== '' ? { reason: reason.trim() } : {}),
          }
        : open === 'promote' || open === 'abort'
          ? reason.trim() !== ''
            ? { reason: reason.trim() }
            : {}
          : undefined;
    try {
      await api(`/v1/experiments/${seg(e.name)}/${open}`, {
        method: 'POST',
        ...(body !== undefined ? { body } : {}),
      });
      setOpen(null);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const words = open === null ? undefined : WORDS[open];
  return (
    <div class="exp-actions">
      {actions.map((a) => (
        <button
          key={a}
          type="button"
          class={a === 'abort' || a === 'stop' ? 'danger' : undefined}
          onClick={() => start(a)}
        >
          {WORDS[a].label}
        </button>
      ))}
      <ConfirmDialog
        open={open !== null}
        title={words?.title ?? ''}
        confirmLabel={words?.label ?? 'OK'}
        busy={busy}
        error={error}
        onConfirm={() => void confirm()}
        onCancel={() => {
          if (!busy) setOpen(null);
        }}
      >
        <p>
          <strong>{e.name}</strong>: {words?.explain(e)}
        </p>
        {open === 'conclude' && (
          <p>
            <label for="exp-winner">Winner</label>{' '}
            <select id="exp-winner" value={winner} onChange={(ev) => setWinner(ev.currentTarget.value)}>
              <option value="">no winner</option>
              {e.arms.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          </p>
        )}
        {(open === 'conclude' || open === 'promote' || open === 'abort') && (
          <p>
            <label for="exp-reason">Reason (recorded)</label>
            <br />
            <textarea
              id="exp-reason"
              rows={2}
              maxLength={500}
              value={reason}
              onInput={(ev) => setReason(ev.currentTarget.value)}
            />
          </p>
        )}
      </ConfirmDialog>
    </div>
  );
}
