// The sandbox inbox's behaviour: connects with a test key (kept in sessionStorage only,
// sent only in the Authorization header), then asks GET /messages once a second and
// shows each message as it arrives and as its states move. Polling, not a server-sent
// event stream, which could not carry the key in a header.
'use strict';

const storageName = 'verifyd-sandbox-key';
const pollMs = 1000;
const listed = 50;

const keyInput = document.getElementById('api-key');
const filterInput = document.getElementById('filter-to');
const errorLine = document.getElementById('error');
const statusLine = document.getElementById('status');
const list = document.getElementById('messages');
const template = document.getElementById('message-template');

let apiKey = '';
let timer = null;
let generation = 0;  // a poll that answers after a reconnect is dropped

function showError(text) {
  errorLine.textContent = text;
  errorLine.hidden = text === '';
}

function stopPolling() {
  clearTimeout(timer);
  timer = null;
  generation += 1;
}

function connect(event) {
  if (event) event.preventDefault();
  stopPolling();
  list.replaceChildren();
  apiKey = keyInput.value.trim();
  if (apiKey.startsWith('sk_live_')) {
    sessionStorage.removeItem(storageName);
    showError('This is a live key. The sandbox inbox shows the messages of test keys ' +
              '(sk_test_…) only; a live key\'s codes are never shown.');
    statusLine.textContent = '';
    return;
  }
  sessionStorage.setItem(storageName, apiKey);
  showError('');
  statusLine.textContent = 'Connecting…';
  poll(generation);
}

function listingUrl() {
  const to = filterInput.value.trim();
  const query = new URLSearchParams({ limit: String(listed) });
  if (to !== '') query.set('to', to);
  return '/messages?' + query.toString();
}

async function poll(current) {
  try {
    const response = await fetch(listingUrl(), {
      headers: { Authorization: 'Bearer ' + apiKey },
      cache: 'no-store',
      credentials: 'omit',
    });
    const body = await response.json().catch(() => null);
    if (current !== generation) return;
    if (!response.ok) {
      const error = body && body.error;
      showError(error ? `${error.message} (${error.code})` : `The server answered ${response.status}.`);
      if (response.status === 401 || response.status === 403) {
        statusLine.textContent = 'Not connected.';
        return;
      }
    } else {
      showError('');
      render(body.data.messages);
      statusLine.textContent = `Connected. ${body.data.messages.length} message(s); ` +
                               'new ones appear within a second.';
    }
  } catch (error) {
    if (current !== generation) return;
    showError('verifyd did not answer: ' + error.message);
  }
  if (current === generation) timer = setTimeout(() => poll(current), pollMs);
}

function copyCode(code, button) {
  const done = () => {
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy code'; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(code).then(done, () => showError('The browser refused to copy.'));
    return;
  }
  // Plain http on another host is no secure context: copy through a selected field.
  const field = document.createElement('textarea');
  field.value = code;
  field.setAttribute('readonly', '');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  document.body.append(field);
  field.select();
  const copied = document.execCommand('copy');
  field.remove();
  if (copied) done(); else showError('The browser refused to copy.');
}

function setState(element, word, detail) {
  element.className = element.className.split(' ')[0] + ' ' + word;
  element.textContent = detail ? `${word} (${detail})` : word;
}

function verificationDetail(message) {
  if (message.verification_status === 'pending') {
    return `${message.attempts_remaining} attempt(s) left`;
  }
  return '';
}

function deliveryDetail(message) {
  const parts = [];
  if (message.fallback_reason) parts.push(`fell back: ${message.fallback_reason}`);
  if (message.error) parts.push(message.error.message || message.error.code || 'error');
  return parts.join('; ');
}

function fill(element, message) {
  element.dataset.id = message.id;
  element.querySelector('.to').textContent = message.to;
  element.querySelector('.channel').textContent = message.channel;
  const created = element.querySelector('.created');
  created.dateTime = message.created_at;
  created.textContent = new Date(message.created_at).toLocaleTimeString();
  const variables = (message.template && message.template.variables) || {};
  const code = variables.code === undefined ? '' : String(variables.code);
  element.querySelector('.code').textContent = code;
  const copy = element.querySelector('.copy');
  copy.onclick = () => copyCode(code, copy);
  copy.setAttribute('aria-label', `Copy the code sent to ${message.to}`);
  setState(element.querySelector('.verification'), message.verification_status,
           verificationDetail(message));
  setState(element.querySelector('.delivery'), message.status, deliveryDetail(message));
  const terms = element.querySelector('.variable-list');
  terms.replaceChildren();
  for (const [name, value] of Object.entries(variables)) {
    const term = document.createElement('dt');
    term.textContent = name;
    const description = document.createElement('dd');
    description.textContent = String(value);
    terms.append(term, description);
  }
}

// Newest first: existing elements are updated in place (an open <details> stays open).
function render(messages) {
  const existing = new Map();
  for (const element of list.children) existing.set(element.dataset.id, element);
  const ordered = messages.map((message) => {
    const element = existing.get(message.id) ||
                    template.content.firstElementChild.cloneNode(true);
    fill(element, message);
    existing.delete(message.id);
    return element;
  });
  for (const gone of existing.values()) gone.remove();
  ordered.forEach((element, index) => {
    if (list.children[index] !== element) list.insertBefore(element, list.children[index] || null);
  });
}

document.getElementById('connect-form').addEventListener('submit', connect);
filterInput.addEventListener('change', () => { if (apiKey) connect(); });
const remembered = sessionStorage.getItem(storageName);
if (remembered) {
  keyInput.value = remembered;
  connect();
}
