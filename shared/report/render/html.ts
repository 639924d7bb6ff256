// The report as ONE self-contained HTML file: inline CSS, an inline SVG chart, no script, no font, no
// image or other fetch. A Content-Security-Policy of default-src 'none' makes the browser refuse any
// fetch even if a value slipped through; every value from the history is escaped anyway.
import { formatDuration, toMs } from "../time.ts";
import type { AuditReport } from "../types.ts";
import {
  ACK_COLUMNS,
  ackCells,
  FINDING_COLUMNS,
  findingCells,
  LATENT_COLUMNS,
  latentCells,
  reportTitle,
  SCAN_COLUMNS,
  scanCells,
  summaryLines,
  WINDOW_COLUMNS,
  windowCells,
} from "./labels.ts";

export function escapeHtml(value: string | number): string {
  return String(value).replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!,
  );
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:12px 0}dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.unauthenticated td:nth-child(2),tr.critical td:first-child{color:#b42318;font-weight:600}
tr.incomplete td{background:#fff4e5}.muted{color:#57606a}svg{width:100%;height:auto;max-width:960px}
.area{fill:#f0b4ae}.line{fill:none;stroke:#b42318;stroke-width:1.5}.axis{stroke:#57606a;stroke-width:1}.gap{fill:#e6e6e6}
.tick{font-size:11px;fill:#57606a}`;

/** A long scan list (96 a day at 15 minutes) starts folded, so the page still reads in a minute. */
const SCANS_SHOWN_OPEN = 50;
const WIDTH = 960;
const HEIGHT = 260;
const MARGIN = { left: 44, right: 16, top: 12, bottom: 40 };

/** A step chart of how many endpoints were exposed, with the longest stretch without a completed scan shaded. */
export function timelineSvg(report: AuditReport): string {
  const fromMs = toMs(report.period.from);
  const toMs_ = toMs(report.period.to);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const max = Math.max(1, ...report.timeline.map((point) => point.exposed));
  const x = (ms: number) => (MARGIN.left + ((ms - fromMs) / (toMs_ - fromMs)) * plotW).toFixed(1);
  const y = (n: number) => (MARGIN.top + plotH - (n / max) * plotH).toFixed(1);

  let line = "";
  for (const [i, point] of report.timeline.entries()) {
    line += i === 0 ? `M${x(fromMs)} ${y(point.exposed)}` : ` H${x(toMs(point.at))} V${y(point.exposed)}`;
  }
  line += ` H${x(toMs_)}`;
  const area = `${line} V${y(0)} H${x(fromMs)} Z`;

  const gap = report.coverage.longestWithoutCompletedScan;
  const gapX = x(toMs(gap.from));
  const gapW = (Number(x(toMs(gap.to))) - Number(gapX)).toFixed(1);

  const yTicks = [...new Set([0, Math.round(max / 2), max])];
  const xTicks = Array.from({ length: 5 }, (_, i) => fromMs + ((toMs_ - fromMs) * i) / 4);
  const label = (ms: number) =>
    new Date(ms)
      .toISOString()
      .slice(0, toMs_ - fromMs > 4 * 86_400_000 ? 10 : 16)
      .replace("T", " ");

  const parts = [
    `<svg id="timeline-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="Exposed endpoints over the period, at most ${max}">`,
    `<title>Exposed endpoints over the period</title>`,
    `<rect class="gap" x="${gapX}" y="${MARGIN.top}" width="${gapW}" height="${plotH}"><title>Longest interval without a completed scan: ${escapeHtml(formatDuration(gap.durationMs))}</title></rect>`,
    `<path class="area" d="${area}"/>`,
    `<path class="line" d="${line}"/>`,
    `<line class="axis" x1="${MARGIN.left}" y1="${y(0)}" x2="${WIDTH - MARGIN.right}" y2="${y(0)}"/>`,
    `<line class="axis" x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${y(0)}"/>`,
    ...yTicks.map(
      (n) =>
        `<text class="tick" x="${MARGIN.left - 6}" y="${y(n)}" text-anchor="end" dominant-baseline="middle">${n}</text>`,
    ),
    ...xTicks.map(
      (ms, i) =>
        `<text class="tick" x="${x(ms)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="${i === 0 ? "start" : i === 4 ? "end" : "middle"}">${escapeHtml(label(ms))}</text>`,
    ),
    "</svg>",
  ];
  return parts.join("\n");
}

function table(
  id: string,
  headers: string[],
  rows: Array<{ cells: Array<string | number>; className?: string }>,
): string {
  const head = `<thead><tr>${headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("")}</tr></thead>`;
  const body = rows
    .map(
      (row) =>
        `<tr${row.className ? ` class="${escapeHtml(row.className)}"` : ""}>${row.cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return `<table id="${id}">${head}<tbody>\n${body}\n</tbody></table>`;
}

export function renderHtml(report: AuditReport): string {
  const title = reportTitle(report);
  const summary = summaryLines(report)
    .map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="muted">The period is [from, to): the end is exclusive. Windows that started before the period keep their true start; durations in the period are clipped to it.</p>
<section id="summary"><h2>Summary</h2><dl>
${summary}
</dl></section>
<section id="timeline"><h2>Exposed endpoints over the period</h2>
${timelineSvg(report)}
<p class="muted">Red: endpoints reachable or unauthenticated. Grey band: the longest interval without a completed scan.</p></section>
<section id="windows"><h2>Exposure windows (${report.windows.length})</h2>
${table(
  "windows-table",
  WINDOW_COLUMNS,
  report.windows.map((w) => ({ className: w.level, cells: windowCells(w) })),
)}</section>
<section id="findings"><h2>Open findings at the end of the period (${report.openFindings.length})</h2>
${table(
  "findings-table",
  FINDING_COLUMNS,
  report.openFindings.map((f) => ({ className: f.severity, cells: findingCells(f) })),
)}</section>
<section id="latent"><h2>Latent exposures: the configuration opens the port, nothing answered (${report.latentExposures.length})</h2>
${table(
  "latent-table",
  LATENT_COLUMNS,
  report.latentExposures.map((l) => ({ className: "latent", cells: latentCells(l) })),
)}</section>
<section id="coverage"><h2>Scans (${report.coverage.scans.length})</h2>
<details id="scans-details"${report.coverage.scans.length <= SCANS_SHOWN_OPEN ? " open" : ""}><summary>${escapeHtml(`${report.coverage.completedScans} completed, ${report.coverage.incompleteScans} incomplete, ${report.coverage.scansWithGaps} with coverage gaps: every scan of the period`)}</summary>
${table(
  "scans-table",
  SCAN_COLUMNS,
  report.coverage.scans.map((s) => ({ className: s.status, cells: scanCells(s) })),
)}</details></section>
<section id="acknowledgements"><h2>Acknowledgements in force during the period (${report.acknowledgements.length})</h2>
<p class="muted">Accepted exposures: their changes were recorded but paged no one until the acknowledgement ended.</p>
${table(
  "acknowledgements-table",
  ACK_COLUMNS,
  report.acknowledgements.map((a) => ({ className: "ack", cells: ackCells(a) })),
)}</section>
<footer class="muted"><p>Read from ${escapeHtml(report.table)}, generated ${escapeHtml(report.generatedAt)}. Check this file against its manifest with <code>exposure verify REPORT MANIFEST</code>.</p></footer>
</body>
</html>
`;
}
