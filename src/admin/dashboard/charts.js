// The dashboard's uPlot charts: time series that keep the last few minutes of samples, and the bar
// chart of predicted retry probabilities. uPlot is the global its IIFE build defines.
const MAX_POINTS = 300;
const HEIGHT = 170;
const GRID = { stroke: '#252c37', width: 1 };
const AXIS = { stroke: '#8b95a5', grid: GRID, ticks: GRID, font: '11px system-ui, sans-serif' };
export const COLOURS = ['#4e9af1', '#f2b13c', '#e5534b', '#57ab5a', '#b083f0'];

const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const sizeOf = (el) => ({ width: Math.max(240, el.clientWidth), height: HEIGHT });
// every figure here is >= 0: the y axis starts at 0 so a small wobble does not look like a cliff
const fromZero = (floor) => (_u, _min, max) => [0, Math.max(floor, (max ?? 0) * 1.1)];

/**
 * A time series chart in `el`. `series`: [{label, colour?}]; `format` renders a value for the axis
 * and legend; `range` overrides the y range ([min, max]); `floor` is the least top of the y axis.
 */
export function timeChart(el, series, { format, range, floor = 1 }) {
  const data = [[], ...series.map(() => [])];
  const show = (v) => (v === null || v === undefined ? '–' : format(v));
  const plot = new uPlot(
    {
      ...sizeOf(el),
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.colour ?? COLOURS[i], width: 1.5, value: (_u, v) => show(v), points: { show: false } }))],
      scales: { x: { time: true }, y: { range: range ?? fromZero(floor) } },
      axes: [{ ...AXIS, space: 70, values: (_u, splits) => splits.map(clock) }, { ...AXIS, size: 60, values: (_u, splits) => splits.map(show) }],
      cursor: { drag: { x: false, y: false } },
      // the legend only names the series (a click hides one): live values would read "–" unless hovered
      legend: { live: false },
    },
    data,
    el,
  );
  return {
    /** One sample at `xSeconds` (unix time); null values leave a gap. */
    push(xSeconds, values) {
      data[0].push(xSeconds);
      values.forEach((v, i) => data[i + 1].push(v ?? null));
      if (data[0].length > MAX_POINTS) for (const column of data) column.shift();
      plot.setData(data);
    },
    resize: () => plot.setSize(sizeOf(el)),
  };
}

/** A bar chart with one bar per label; `set` replaces the heights (shares 0..1). */
export function barChart(el, labels, label) {
  const x = labels.map((_l, i) => i);
  const data = [x, labels.map(() => 0)];
  const pct = (v) => (v === null || v === undefined ? '–' : `${Math.round(100 * v)} %`);
  const plot = new uPlot(
    {
      ...sizeOf(el),
      series: [
        { label: 'P(retry) up to', value: (_u, i) => labels[i] ?? '–' },
        { label, stroke: COLOURS[0], fill: 'rgba(78, 154, 241, 0.45)', paths: uPlot.paths.bars({ size: [0.8, 64] }), points: { show: false }, value: (_u, v) => pct(v) },
      ],
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: fromZero(0.1) } },
      axes: [{ ...AXIS, splits: () => x, values: (_u, splits) => splits.map((i) => labels[i] ?? '') }, { ...AXIS, size: 60, values: (_u, splits) => splits.map(pct) }],
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
    },
    data,
    el,
  );
  return {
    set(shares) {
      data[1] = shares;
      plot.setData(data);
    },
    resize: () => plot.setSize(sizeOf(el)),
  };
}
