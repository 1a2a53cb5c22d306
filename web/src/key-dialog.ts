// The key prompt and Sign out. The prompt is a modal <dialog>: focus stays in
// it and the page behind is inert until the server takes a key. It opens only
// after a refusal, so on a server without keys nothing of this shows.
import { checkKey, forgetKey, saveKey, storedKey } from './key.ts';
import { t } from './i18n.ts';
import { $ } from './view.ts';

const dialog = () => $<HTMLDialogElement>('key-dialog');
const showSignOut = () => ($('sign-out').hidden = storedKey() === null);

/** The reason under the field; data-i18n, so that a change of language redraws it. */
function say(message: 'keyInvalid' | 'err_network' | null): void {
  const box = $('key-error');
  box.hidden = message === null;
  if (message === null) return;
  box.dataset.i18n = message;
  box.textContent = t(message);
}

class KeyDialog {
  /** Resolves the open question (ask) once the server has taken a key; null while the prompt is closed. */
  private accepted: (() => void) | null = null;

  ask(invalid: boolean): Promise<void> {
    say(invalid ? 'keyInvalid' : null);
    showSignOut();
    $<HTMLInputElement>('key').value = '';
    if (!dialog().open) dialog().showModal();
    return new Promise((resolve) => (this.accepted = resolve));
  }

  wire(): void {
    $<HTMLFormElement>('key-form').addEventListener('submit', (e) => void this.submit(e));
    // The page can do nothing without a key: Escape leaves the prompt open, and where
    // the browser closes it anyway (Chrome does, on a second Escape) it opens again.
    dialog().addEventListener('cancel', (e) => e.preventDefault());
    dialog().addEventListener('close', () => this.accepted && dialog().showModal());
    $('sign-out').addEventListener('click', signOut);
    showSignOut();
  }

  /** Checked before it is kept: a wrong key is never saved, and the prompt stays, saying so. */
  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const input = $<HTMLInputElement>('key');
    const button = $<HTMLButtonElement>('key-submit');
    const key = input.value.trim();
    if (!key || button.disabled) return;
    button.disabled = true;
    const verdict = await checkKey(key);
    button.disabled = false;
    if (verdict !== 'ok') {
      say(verdict === 'invalid' ? 'keyInvalid' : 'err_network');
      input.focus(); // the button had it, and lost it while disabled
      input.select();
      return;
    }
    saveKey(key);
    say(null);
    const done = this.accepted;
    this.accepted = null; // first: the close below must not open the prompt again
    dialog().close();
    showSignOut();
    done?.();
  }
}

function signOut(): void {
  forgetKey();
  // A fresh page shows nothing of this key's jobs, and its address names none of them.
  history.replaceState(null, '', location.pathname);
  location.reload();
}

export const keyDialog = new KeyDialog();
