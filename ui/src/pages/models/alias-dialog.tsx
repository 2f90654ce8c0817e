import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, seg } from '../../api.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { fmtTime } from '../../format.js';
import type { AliasEvent, AliasesAnswer, AliasMoveAnswer } from './types.js';

/** What the dialog was opened for: point an alias at a version, or undo the alias's last move. */
export type AliasAction =
  | { kind: 'move'; alias: string; version: number | null; title: string }
  | { kind: 'rollback'; alias: string };

const REASON_MAX = 500;
/** The registry's rule for alias names (src/registry/model-ref.ts). */
const ALIAS_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * The confirmation before an alias moves: says from → to, takes a reason (kept in the alias
 * history), calls the admin API and shows its error in the dialog when it refuses.
 */
export function AliasDialog({
  model,
  action,
  aliases,
  onDone,
  onStale,
  onClose,
}: {
  model: string;
  action: AliasAction;
  /** The model's aliases now (alias → version). */
  aliases: Record<string, number>;
  onDone: (move: AliasMoveAnswer, rolledBack: boolean) => void;
  /** The alias moved since the dialog opened (409): the page reads the aliases again. */
  onStale: () => void;
  onClose: () => void;
}) {
  const [alias, setAlias] = useState(action.alias);
  const [version, setVersion] = useState(
    action.kind === 'move' && action.version !== null ? String(action.version) : '',
  );
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [invalid, setInvalid] = useState<string | null>(null);
  // Rollback: the alias's last move, whose "from" is where the rollback goes.
  const [last, setLast] = useState<AliasEvent | null | undefined>(undefined);
  // Bumped when the server says the alias moved: the history is read again.
  const [stale, setStale] = useState(0);

  useEffect(() => {
    if (action.kind !== 'rollback') return;
    const controller = new AbortController();
    api<AliasesAnswer>(`/v1/models/${seg(model)}/aliases?alias=${encodeURIComponent(action.alias)}&limit=1`, {
      signal: controller.signal,
    })
      .then((a) => setLast(a.events[0] ?? null))
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [model, action, stale]);

  const current = aliases[alias.trim()];
  const submit = async () => {
    setInvalid(null);
    const why = reason.trim() === '' ? 'Ferry dashboard' : reason.trim();
    let path: string;
    let body: unknown;
    let method: 'PUT' | 'POST';
    if (action.kind === 'move') {
      const a = alias.trim();
      const v = Number(version);
      if (!ALIAS_NAME.test(a) || /^[0-9]+$/.test(a)) {
        setInvalid(
          "The alias must be 1-63 lower-case letters, digits, '.', '_' or '-', start with a letter or digit, and not be only digits.",
        );
        return;
      }
      if (!/^[1-9][0-9]{0,9}$/.test(version.trim()) || !Number.isSafeInteger(v)) {
        setInvalid('The version must be a whole number of 1 or more.');
        return;
      }
      method = 'PUT';
      path = `/v1/models/${seg(model)}/aliases/${seg(a)}`;
      // `from`: what this dialog showed; the server refuses (409) if the alias moved since.
      body = { version: v, reason: why, from: aliases[a] ?? null };
    } else {
      method = 'POST';
      path = `/v1/models/${seg(model)}/aliases/${seg(action.alias)}/rollback`;
      const from = aliases[action.alias];
      body =
        last?.fromVersion != null && from !== undefined
          ? { reason: why, from, to: last.fromVersion }
          : { reason: why };
    }
    setBusy(true);
    setError(undefined);
    try {
      const move = await api<AliasMoveAnswer>(path, { method, body });
      onDone(move, action.kind === 'rollback');
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.status === 409) {
        setStale((n) => n + 1);
        onStale();
      }
    } finally {
      setBusy(false);
    }
  };

  const title = action.kind === 'move' ? action.title : `Roll back ${model}@${action.alias}`;
  return (
    <ConfirmDialog
      open
      title={title}
      confirmLabel={
        action.kind === 'move' ? (action.title.startsWith('Promote') ? 'Promote' : 'Move alias') : 'Roll back'
      }
      busy={busy}
      error={error}
      onConfirm={() => void submit()}
      onCancel={onClose}
    >
      {action.kind === 'move' ? (
        <>
          <p>
            <label for="alias-dialog-alias">Alias</label>
            <br />
            <input
              id="alias-dialog-alias"
              list="alias-dialog-aliases"
              autocomplete="off"
              spellcheck={false}
              maxLength={63}
              required
              value={alias}
              onInput={(e) => setAlias(e.currentTarget.value)}
            />
            <datalist id="alias-dialog-aliases">
              {Object.keys(aliases).map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </p>
          <p>
            <label for="alias-dialog-version">Version</label>
            <br />
            <input
              id="alias-dialog-version"
              type="number"
              inputMode="numeric"
              min={1}
              step={1}
              required
              value={version}
              onInput={(e) => setVersion(e.currentTarget.value)}
            />
          </p>
          <p data-testid="move-summary">
            <strong>
              {model}@{alias.trim() || '…'}: {current ?? 'none'} → {version.trim() || '…'}
            </strong>
            {current !== undefined && String(current) === version.trim()
              ? ' (already there: nothing changes)'
              : ''}
            . Servers following the alias swap to the new version without downtime.
          </p>
        </>
      ) : (
        <p data-testid="move-summary">
          {last === undefined && error === undefined ? (
            'Reading the alias history…'
          ) : last === null || last?.fromVersion === null || last === undefined ? (
            `${model}@${action.alias} has no earlier version to go back to${last ? ' (it was created by its last move)' : ''}.`
          ) : (
            <>
              <strong>
                {model}@{action.alias}: {aliases[action.alias] ?? 'none'} → {last.fromVersion}
              </strong>
              , undoing the move of {fmtTime(last.at)}
              {last.reason ? (
                <>
                  {' '}
                  (reason: “<span>{last.reason}</span>”)
                </>
              ) : null}
              . The rollback is itself recorded: rolling back again returns to {last.toVersion ?? 'none'}.
            </>
          )}
        </p>
      )}
      <p>
        <label for="alias-dialog-reason">Reason (optional, kept in the alias history)</label>
        <br />
        <textarea
          id="alias-dialog-reason"
          rows={3}
          maxLength={REASON_MAX}
          style={{ width: '100%', boxSizing: 'border-box' }}
          value={reason}
          aria-describedby="alias-dialog-reason-count"
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <span id="alias-dialog-reason-count" class="muted">
          {reason.length} / {REASON_MAX} characters
        </span>
      </p>
      {invalid !== null && (
        <p class="notice notice-error" role="alert">
          {invalid}
        </p>
      )}
    </ConfirmDialog>
  );
}
