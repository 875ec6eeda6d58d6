/** The overview page's stylesheet (served as `/overview/assets/overview.css`). */
export const OVERVIEW_STYLE = `
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2933; background: #f4f6f8; }
header { background: #14213d; color: #fff; padding: 12px 20px; }
header h1 { font-size: 18px; margin: 0 16px 0 0; display: inline-block; vertical-align: middle; }
header a { color: #cfe0ff; }
header nav { display: inline-block; vertical-align: middle; }
form { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; margin-top: 10px; }
form label { display: flex; flex-direction: column; font-size: 12px; color: #cbd5e1; }
form input { font: inherit; padding: 4px 6px; border: 1px solid #94a3b8; border-radius: 4px; min-width: 190px; }
form input.ids { min-width: 260px; }
form button { font: inherit; padding: 5px 14px; border: 0; border-radius: 4px; background: #fca311; color: #14213d; cursor: pointer; }
form button.secondary { background: #e2e8f0; }
.state { margin: 12px 20px 0; padding: 10px 14px; border-radius: 6px; background: #e0ecff; }
.state-error { background: #fde2e1; color: #7f1d1d; }
.state-token-needed { background: #fff4d6; color: #6b4500; font-weight: 600; }
main { padding: 12px 20px 24px; display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 14px; }
body[data-state='token-needed'] main { display: none; }
body[data-state='error'] main { opacity: 0.45; }
section { background: #fff; border-radius: 8px; padding: 12px 14px; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.08); min-width: 0; }
section.wide { grid-column: 1 / -1; }
section h2 { font-size: 15px; margin: 0 0 6px; display: flex; gap: 8px; align-items: baseline; }
section h2 .interval, section h2 .count { font-weight: normal; color: #64748b; font-size: 13px; }
section h2 a.graphiql { margin-left: auto; font-weight: normal; font-size: 12px; }
.note { color: #b45309; font-size: 12px; min-height: 0; }
.chart { height: 300px; width: 100%; }
#panel-timeline .chart { height: 320px; }
.kpis { display: flex; flex-wrap: wrap; gap: 28px; align-items: baseline; }
.kpi { display: flex; flex-direction: column; }
.kpi .label { color: #64748b; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.kpi .value { font-size: 22px; font-weight: 600; }
#total { font-size: 40px; }
#span { color: #64748b; font-size: 12px; }
.downloads { margin-top: 6px; color: #64748b; font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
th { color: #64748b; font-weight: 600; }
tr.severity-critical td:first-child { color: #991b1b; font-weight: 700; }
tr.severity-high td:first-child { color: #c2410c; font-weight: 700; }
`;
