// The modal dialogs and the API-key flow: renaming a conversation,
// confirming a deletion, text to copy by hand when the clipboard is out of
// reach, and the key dialog, opened when the gateway answers 401 or from
// Settings, which remembers what to retry once a key is given.
//
// The dialogs only ask; what an answer does to the conversations is the
// controller's (app.js), through the callbacks it passes.

import * as store from './store.js';
import { $, announce } from './dom.js';

const ui = {
  message: $('message'), settings: $('settings'),
  keyStatus: $('key-status'), changeKey: $('change-key'), forgetKey: $('forget-key'),
  keyDialog: $('key-dialog'), keyInput: $('api-key'), keyError: $('key-error'),
  renameDialog: $('rename-dialog'), renameInput: $('rename-input'),
  deleteDialog: $('delete-dialog'), deleteText: $('delete-text'),
  copyDialog: $('copy-dialog'), copyText: $('copy-text'),
};

/** What to retry once a key is given: name → {retry, cancel}. */
const keyWaiters = new Map();

// ---------------------------------------------------------------- dialogs

/** Opens a modal dialog; `onClose(accepted)` runs once when it closes. */
function openDialog(dialog, focus, onClose) {
  let accepted = false;
  const opener = document.activeElement;
  const form = dialog.querySelector('form');
  const submit = (event) => {
    event.preventDefault();
    if (dialog.validate && !dialog.validate()) return;
    accepted = true;
    dialog.close();
  };
  const cancel = () => dialog.close();
  const cancelButton = dialog.querySelector('button[id$="-cancel"]');
  form.addEventListener('submit', submit);
  cancelButton?.addEventListener('click', cancel);
  dialog.addEventListener('close', () => {
    form.removeEventListener('submit', submit);
    cancelButton?.removeEventListener('click', cancel);
    dialog.validate = null;
    // Chromium has put focus back already; after a click in the dialog
    // that element looks focused but drops typed text until it is blurred
    // and focused again, so start from nothing.
    document.activeElement?.blur?.();
    onClose(accepted);
    if (document.activeElement === document.body && opener?.isConnected) opener.focus();
  }, { once: true });
  if (!dialog.open) dialog.showModal();
  focus.focus();
}

/**
 * Asks for a new title in place of `title`; `onClose(newTitle)` gets it
 * with its spaces tidied, or null when cancelled or left blank.
 */
export function askRename(title, onClose) {
  ui.renameInput.value = title;
  openDialog(ui.renameDialog, ui.renameInput, (ok) => {
    const newTitle = ui.renameInput.value.replace(/\s+/g, ' ').trim();
    onClose(ok && newTitle ? newTitle : null);
  });
  ui.renameInput.select();
}

/** Asks whether to delete the conversation titled `title`; `onClose(ok)`. */
export function confirmDelete(title, onClose) {
  ui.deleteText.textContent = `“${title}” will be removed from this browser.`;
  openDialog(ui.deleteDialog, $('delete-cancel'), onClose);
}

/** Shows text to copy by hand when the clipboard is out of reach. */
function openCopyDialog(text) {
  ui.copyText.value = text;
  openDialog(ui.copyDialog, ui.copyText, () => {});
  ui.copyText.select();
}

/** Copies `text`, saying so on `trigger` (a button) for a moment. */
export async function copy(text, trigger) {
  try {
    if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
  } catch {
    openCopyDialog(text);
    return;
  }
  const label = trigger.textContent;
  trigger.textContent = 'Copied';
  announce('Copied to the clipboard.');
  setTimeout(() => {
    if (trigger.textContent === 'Copied') trigger.textContent = label;
  }, 1500);
}

// ---------------------------------------------------------------- API key

export function updateKeyControls() {
  const has = Boolean(store.getApiKey());
  ui.keyStatus.textContent = has ? 'An API key is saved in this browser.' : 'No API key saved in this browser.';
  ui.changeKey.textContent = has ? 'Change API key' : 'Set API key';
  ui.forgetKey.disabled = !has;
}

/**
 * Asks for a key because a request got 401; `name` dedupes waiters (the
 * model list and a chat may both be waiting). A 401 to a request that
 * carried a key means the key was refused: forget it and say so.
 */
export function needKey(name, refused, retry, cancel) {
  if (refused) store.forgetApiKey();
  keyWaiters.set(name, { retry, cancel });
  updateKeyControls();
  openKeyDialog(refused ? 'The gateway refused this key. Check it and try again.' : '');
}

/** Wires Settings' key buttons; a key given there reloads the models with `reloadModels`. */
export function bindKeyControls(reloadModels) {
  ui.changeKey.addEventListener('click', () => {
    keyWaiters.set('models', { retry: reloadModels, cancel: () => {} });
    openKeyDialog('');
  });
  ui.forgetKey.addEventListener('click', () => {
    store.forgetApiKey();
    updateKeyControls();
    announce('The API key was forgotten.');
    ui.changeKey.focus();
  });
}

function openKeyDialog(error) {
  ui.keyError.hidden = !error;
  ui.keyError.textContent = error;
  if (ui.keyDialog.open) {
    ui.keyInput.focus();
    return;
  }
  ui.keyInput.value = '';
  ui.keyDialog.validate = () => {
    if (ui.keyInput.value.trim()) return true;
    ui.keyError.hidden = false;
    ui.keyError.textContent = 'Enter the key first, or choose Cancel.';
    ui.keyInput.focus();
    return false;
  };
  openDialog(ui.keyDialog, ui.keyInput, (ok) => {
    const waiters = [...keyWaiters.values()];
    keyWaiters.clear();
    if (ok) store.setApiKey(ui.keyInput.value.trim());
    ui.keyInput.value = '';
    updateKeyControls();
    for (const w of waiters) (ok ? w.retry : w.cancel)();
    if (!ui.settings.open || ok) ui.message.focus();
  });
}
