import { useEffect, useState } from 'preact/hooks';
import { getToken, onTokenChange, setToken } from '../api.js';

/**
 * Where the admin token is entered, once per tab: kept in sessionStorage, sent only to this server.
 * The server says whether it is right: a page that gets a 401 says so where its data would be.
 */
export function TokenBox() {
  const [saved, setSaved] = useState(getToken() !== null);
  const [draft, setDraft] = useState('');
  useEffect(() => onTokenChange(() => setSaved(getToken() !== null)), []);
  if (saved) {
    return (
      <div class="token-box">
        <span data-testid="token-state">Admin token set (this tab only)</span>
        <button type="button" onClick={() => setToken(null)}>
          Forget token
        </button>
      </div>
    );
  }
  return (
    <form
      class="token-box"
      onSubmit={(e) => {
        e.preventDefault();
        const t = draft.trim();
        if (t !== '') setToken(t);
        setDraft('');
      }}
    >
      <label for="admin-token">Admin token</label>
      <input
        id="admin-token"
        type="password"
        autocomplete="off"
        spellcheck={false}
        maxLength={4096}
        value={draft}
        onInput={(e) => setDraft(e.currentTarget.value)}
      />
      <button type="submit">Use token</button>
    </form>
  );
}
