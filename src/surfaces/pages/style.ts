// The page's stylesheet, inlined in a <style> element (the CSP allows inline styles, no scripts).
// A centred card, the system font, big tap targets, visible focus, light and dark colour schemes;
// below the card, the support link and the language links. An environment's colour overrides the
// accent variables (theme.ts).
import { SafeHtml } from './html.ts';

export const PAGE_CSS = new SafeHtml(`
:root{color-scheme:light dark;--bg:#eef1f5;--card:#fff;--text:#111827;--muted:#4b5563;--border:#c9ced6;--accent:#1d4ed8;--accent-hover:#1e40af;--on-accent:#fff;--link:#1d4ed8;--danger:#b91c1c;--danger-bg:#fef2f2;--warn:#b45309;--warn-bg:#fffbeb;--ok:#047857;--ok-bg:#ecfdf5;--focus:#f59e0b}
@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--card:#1e293b;--text:#f1f5f9;--muted:#cbd5e1;--border:#475569;--accent:#93c5fd;--accent-hover:#bfdbfe;--on-accent:#0f172a;--link:#93c5fd;--danger:#fca5a5;--danger-bg:#3f1d1d;--warn:#fcd34d;--warn-bg:#3a2e10;--ok:#6ee7b7;--ok-bg:#0f2e25}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;padding:1.5rem 1rem;background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:28rem;background:var(--card);border:1px solid var(--border);border-radius:.875rem;padding:1.5rem;box-shadow:0 1px 2px rgb(0 0 0/.06),0 4px 16px rgb(0 0 0/.06)}
@media (min-width:40rem){body{padding-top:12vh}main{padding:2rem}}
.brand{margin:0 0 .5rem;color:var(--muted);font-size:.8125rem;font-weight:600;letter-spacing:.06em;text-transform:uppercase}
.brand.named{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem .75rem;margin-bottom:1rem;color:var(--text);font-size:1rem;letter-spacing:normal;text-transform:none}
.brand img{display:block;max-height:2.5rem;max-width:12rem;width:auto;height:auto}
h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25;overflow-wrap:anywhere}
p{margin:0 0 1rem}
main>:last-child{margin-bottom:0}
.muted{color:var(--muted)}
.label{font-weight:600;margin:0 0 .375rem}
.field{margin:0 0 1.25rem}
label{display:block;font-weight:600;margin:0 0 .375rem}
input[type=text],input[type=password]{display:block;width:100%;min-height:3rem;padding:.625rem .75rem;font:inherit;font-size:1.125rem;color:var(--text);background:var(--card);border:2px solid var(--border);border-radius:.5rem}
input[aria-invalid=true]{border-color:var(--danger)}
input.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:1.875rem;font-weight:600;letter-spacing:.18em;text-indent:.18em;text-align:center;text-transform:uppercase;min-height:3.75rem}
.hint{margin:.375rem 0 0;color:var(--muted);font-size:.9375rem}
.actions{display:grid;gap:.75rem;margin-top:1.5rem}
button{display:block;width:100%;min-height:3rem;padding:.75rem 1rem;font:inherit;font-size:1.0625rem;font-weight:600;color:var(--on-accent);background:var(--accent);border:2px solid var(--accent);border-radius:.5rem;cursor:pointer}
button:hover{background:var(--accent-hover);border-color:var(--accent-hover)}
button.secondary{color:var(--text);background:transparent;border-color:var(--border)}
button.secondary:hover{background:var(--bg);border-color:var(--muted)}
a.button{display:block;box-sizing:border-box;min-height:3rem;padding:.75rem 1rem;font-weight:600;text-align:center;text-decoration:none;color:var(--on-accent);background:var(--accent);border:2px solid var(--accent);border-radius:.5rem}
a.button.secondary{color:var(--text);background:transparent;border-color:var(--border)}
ul.grants a.button{display:inline-block;min-height:2.75rem;padding:.5rem 1.25rem}
button.danger{color:var(--danger);background:transparent;border-color:var(--danger)}
button.danger:hover{background:var(--danger-bg)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
input:focus{outline:3px solid var(--focus);outline-offset:1px;border-color:var(--accent)}
a{color:var(--link)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.9375em;overflow-wrap:anywhere}
.alert,.warning,.success,.mismatch{padding:.75rem 1rem;border-radius:0 .5rem .5rem 0;border-left:4px solid}
.alert,.mismatch{background:var(--danger-bg);border-color:var(--danger)}
.request{margin:0 0 .25rem;overflow-wrap:anywhere}
.agent{color:var(--muted)}
.warning{background:var(--warn-bg);border-color:var(--warn)}
.success{background:var(--ok-bg);border-color:var(--ok);font-weight:600}
.usercode{margin:0 0 1.25rem;padding:.75rem;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:2rem;font-weight:700;letter-spacing:.18em;text-indent:.18em;text-align:center;border:2px dashed var(--border);border-radius:.5rem}
ul.providers{list-style:none;margin:0 0 1.25rem;padding:0;display:grid;gap:.75rem}
.or{text-align:center}
ul.scopes{margin:0 0 1.25rem;padding-left:1.25rem}
ul.scopes li{margin:.25rem 0}
ul.grants{list-style:none;margin:0 0 1.25rem;padding:0}
ul.grants li{padding:1rem 0;border-top:1px solid var(--border)}
ul.grants li:last-child{border-bottom:1px solid var(--border)}
ul.grants p{margin:0 0 .5rem;overflow-wrap:anywhere}
ul.grants form{margin:0}
ul.grants time{white-space:nowrap}
ul.grants button{width:auto;min-height:2.75rem;padding:.5rem 1.25rem;font-size:1rem}
.more{margin-top:1.5rem;color:var(--muted)}
footer{width:100%;max-width:28rem;margin-top:1rem;color:var(--muted);font-size:.9375rem;text-align:center}
footer p{margin:0 0 .25rem}
footer ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;justify-content:center;gap:0 .75rem}
footer a,footer [aria-current]{display:inline-block;padding:.5rem .25rem}
footer [aria-current]{color:var(--text);font-weight:600}
`.replace(/^\n|\n$/g, ''));
