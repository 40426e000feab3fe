/// The page's style sheet and script, served from memory (nothing is loaded from the network).
enum Assets {
    static let css = """
        :root { --fg: #1d2330; --muted: #5f6b7a; --line: #d9dee5; --bg: #f6f7f9; --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --accent: #2457c5; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header.bar { display: flex; gap: 1.2em; align-items: baseline; padding: .6em 1.2em; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5; }
        header.bar h1 { font-size: 1.05em; margin: 0; }
        header.bar .progress { color: var(--muted); }
        main { padding: 1em 1.2em; max-width: 1400px; margin: 0 auto; }
        a { color: var(--accent); }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; color: var(--muted); font-size: .9em; }
        .pill { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .85em; border: 1px solid var(--line); background: #fff; white-space: nowrap; }
        .pill.accepted, .pill.accept, .pill.pass { color: var(--ok); border-color: var(--ok); }
        .pill.rejected, .pill.reject, .pill.fail { color: var(--bad); border-color: var(--bad); }
        .pill.split, .pill.edit { color: var(--warn); border-color: var(--warn); }
        .pill.pending { color: var(--muted); }
        form.filters { display: flex; flex-wrap: wrap; gap: .6em; align-items: end; margin-bottom: 1em; }
        form.filters label { display: flex; flex-direction: column; font-size: .85em; color: var(--muted); }
        .grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.2em; }
        @media (max-width: 1000px) { .grid { grid-template-columns: 1fr; } }
        section.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8em 1em; margin-bottom: 1em; }
        section.card h2 { font-size: 1em; margin: 0 0 .5em; }
        .media { position: relative; width: 100%; max-width: 640px; }
        .media video { display: block; width: 100%; height: auto; background: #000; }
        .frames { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: .5em; }
        .frame { position: relative; margin: 0; }
        .frame img { display: block; width: 100%; height: auto; }
        .frame figcaption { font-size: .8em; color: var(--muted); }
        .face { position: absolute; border: 2px solid #00e676; box-shadow: 0 0 0 1px #000; pointer-events: none; }
        .qa p, .answer { white-space: pre-wrap; margin: .2em 0 .6em; }
        .label { font-size: .8em; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
        .decide form { margin: 0 0 .8em; }
        .decide textarea { width: 100%; min-height: 7em; font: inherit; }
        .decide input[type=text] { width: 100%; font: inherit; }
        button { font: inherit; padding: .35em .9em; border-radius: 4px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
        button.accept { border-color: var(--ok); color: var(--ok); }
        button.reject { border-color: var(--bad); color: var(--bad); }
        button.edit { border-color: var(--warn); color: var(--warn); }
        kbd { font: .85em ui-monospace, monospace; border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 3px; padding: 0 .3em; background: #fff; }
        .nav a { margin-right: 1em; }
        .muted { color: var(--muted); }
        .step { border-left: 3px solid var(--line); padding-left: .8em; margin-bottom: .8em; }
        .step.current { border-left-color: var(--accent); }
        dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: 0; }
        dl.meta dt { color: var(--muted); }
        dl.meta dd { margin: 0; word-break: break-word; }
        .flash { padding: .5em .8em; background: #fff4e5; border: 1px solid var(--warn); border-radius: 4px; margin-bottom: 1em; }
        #help { display: none; }
        #help.shown { display: block; }
        tr.reviewed td { opacity: .65; }
        """

    static let js = """
        // Keyboard shortcuts of the review page. Forms work without this script; it only adds keys.
        (function () {
          'use strict';
          function typing(e) {
            var t = e.target;
            return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
          }
          function go(id) { var a = document.getElementById(id); if (a && a.href) { window.location.href = a.href; return true; } return false; }
          function submit(id) { var f = document.getElementById(id); if (f) { f.requestSubmit ? f.requestSubmit() : f.submit(); return true; } return false; }
          function focus(id, select) { var el = document.getElementById(id); if (el) { el.focus(); if (select && el.select) el.select(); return true; } return false; }
          document.addEventListener('keydown', function (e) {
            if (e.key === 'Escape') { if (document.activeElement) document.activeElement.blur(); return; }
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              var form = e.target && e.target.form;
              if (form && form.id) { e.preventDefault(); submit(form.id); }
              return;
            }
            if (typing(e) || e.altKey || e.ctrlKey || e.metaKey) return;
            var done = false;
            switch (e.key) {
              case 'a': done = submit('accept-form'); break;
              case 'r': done = focus('reject-reason', false); break;
              case 'e': done = focus('edit-answer', true); break;
              case 'j': case 'n': case 'ArrowRight': done = go('next-link'); break;
              case 'k': case 'p': case 'ArrowLeft': done = go('prev-link'); break;
              case 'u': done = go('unreviewed-link'); break;
              case 'q': done = go('queue-link'); break;
              case ' ':
                var v = document.querySelector('video');
                if (v) { if (v.paused) { v.play(); } else { v.pause(); } done = true; }
                break;
              case '?': var h = document.getElementById('help'); if (h) { h.classList.toggle('shown'); done = true; } break;
            }
            if (done) e.preventDefault();
          });
        })();
        """
}
