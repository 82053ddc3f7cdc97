// The backends table. Rows are updated in place, never rebuilt: a row replaced every second would
// swallow the click of an operator about to drain it. Drain/Undrain call the admin API.
import { DASH, fixed, millis, percent } from './stats.js';

const COLUMNS = ['name', 'state', 'weight', 'inFlight', 'latency', 'errors', 'rps', 'ejections', 'limit', 'action'];

/** What an operator needs first: why the backend gets no traffic, if it gets none. */
function stateOf(b) {
  if (b.isDraining) return ['draining', 'warn'];
  if (b.isEjected) return ['ejected', 'bad'];
  if (!b.isHealthy) return ['unhealthy', 'bad'];
  if (b.effectiveWeight < b.weight) return ['slow start', 'warn'];
  return ['healthy', 'good'];
}

function createRow(name, onAction) {
  const tr = document.createElement('tr');
  tr.dataset.backend = name;
  const cells = {};
  for (const column of COLUMNS) {
    const td = document.createElement('td');
    td.className = `col-${column}`;
    tr.append(td);
    cells[column] = td;
  }
  const title = document.createElement('strong');
  title.textContent = name;
  const address = document.createElement('small');
  cells.name.append(title, address);
  const pill = document.createElement('span');
  cells.state.append(pill);
  const button = document.createElement('button');
  button.type = 'button';
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await onAction(name, button.dataset.action);
    } finally {
      button.disabled = false;
    }
  });
  cells.action.append(button);
  return { tr, cells, address, pill, button };
}

/** `onAction(name, 'drain' | 'undrain')` resolves once the admin API answered. */
export function createBackendsTable(tbody, onAction) {
  const rows = new Map();
  return {
    /** `rps` maps a backend name to its requests per second (null while unknown). */
    update(backends, rps) {
      const seen = new Set();
      backends.forEach((b, i) => {
        seen.add(b.name);
        let row = rows.get(b.name);
        if (row === undefined) {
          row = createRow(b.name, onAction);
          rows.set(b.name, row);
        }
        if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] ?? null);
        const [state, tone] = stateOf(b);
        row.address.textContent = b.address;
        row.pill.textContent = state;
        row.pill.className = `pill ${tone}`;
        row.cells.weight.textContent = b.effectiveWeight === b.weight ? String(b.weight) : `${b.weight} (now ${fixed(b.effectiveWeight, 1)})`;
        row.cells.inFlight.textContent = String(b.inFlight);
        row.cells.latency.textContent = millis(b.latencyEwmaMs);
        row.cells.errors.textContent = percent(b.errorEwma);
        row.cells.rps.textContent = fixed(rps.get(b.name), 1);
        row.cells.ejections.textContent = b.timesEjected > 0 ? `× ${fixed(b.timesEjected, 1)}` : DASH;
        row.cells.limit.textContent = b.concurrencyLimit === null ? DASH : String(b.concurrencyLimit);
        const action = b.isDraining ? 'undrain' : 'drain';
        if (row.button.dataset.action !== action) {
          row.button.dataset.action = action;
          row.button.textContent = b.isDraining ? 'Undrain' : 'Drain';
          row.button.title = b.isDraining ? `POST api/backends/${b.name}/undrain: send it new requests again` : `POST api/backends/${b.name}/drain: no new requests; in-flight ones finish`;
        }
      });
      for (const [name, row] of rows) {
        if (seen.has(name)) continue;
        row.tr.remove();
        rows.delete(name);
      }
    },
  };
}
