//! HTML building: escaping, the page frame, the style sheet and the copy-button script.
//!
//! Every value that did not come from this file goes through [`Escaped`] (or [`escape`])
//! before it reaches a page; attribute values are always double-quoted.

use std::fmt::{self, Write as _};

/// A value written HTML-escaped (`&`, `<`, `>`, `"`, `'`), safe in text and in a
/// double-quoted attribute.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// `s` HTML-escaped.
pub(crate) fn escape(s: &str) -> String {
    Escaped(s).to_string()
}

/// The pieces of a page around its content.
pub(crate) struct Frame<'a> {
    /// The `<title>` and the page's `<h1>`.
    pub(crate) title: &'a str,
    /// The session's CSRF token when logged in (shows the log-out button).
    pub(crate) csrf: Option<&'a str>,
    /// A one-time notice shown above the content (`role="status"`).
    pub(crate) notice: Option<&'a str>,
    /// An error shown above the content (`role="alert"`).
    pub(crate) error: Option<&'a str>,
}

/// A whole page: `body` is already HTML (built with [`Escaped`]).
pub(crate) fn page(frame: &Frame<'_>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1200);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · SCIM admin</title>\n\
         <link rel=\"stylesheet\" href=\"/admin/admin.css\">\n\
         <script src=\"/admin/admin.js\" defer></script>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\n\
         <header class=\"top\">\n<a class=\"brand\" href=\"/admin\">SCIM admin</a>\n",
        Escaped(frame.title)
    );
    if let Some(csrf) = frame.csrf {
        let _ = writeln!(
            out,
            "<nav aria-label=\"Account\"><form method=\"post\" action=\"/admin/logout\">\
             {}<button type=\"submit\" class=\"link\">Log out</button></form></nav>",
            csrf_field(csrf)
        );
    }
    let _ = write!(
        out,
        "</header>\n<main id=\"main\" tabindex=\"-1\">\n<h1>{}</h1>\n",
        Escaped(frame.title)
    );
    if let Some(n) = frame.notice {
        let _ = writeln!(
            out,
            "<p class=\"notice\" role=\"status\">{}</p>",
            Escaped(n)
        );
    }
    if let Some(e) = frame.error {
        let _ = writeln!(out, "<p class=\"error\" role=\"alert\">{}</p>", Escaped(e));
    }
    out.push_str(body);
    out.push_str("\n</main>\n</body>\n</html>\n");
    out
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        Escaped(csrf)
    )
}

/// The style sheet (`/admin/admin.css`).
pub(crate) const CSS: &str = r#":root {
  --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de;
  --accent: #0b5cad; --accent-fg: #ffffff; --danger: #b42318; --ok: #1a7f37;
  --focus: #f0a400;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); line-height: 1.5;
}
* { box-sizing: border-box; }
body { margin: 0; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem 1rem; }
.skip:focus { left: 0; z-index: 10; }
.top { display: flex; align-items: center; justify-content: space-between; gap: 1rem;
  padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; color: var(--fg); text-decoration: none; }
main { max-width: 64rem; margin: 0 auto; padding: 1.5rem; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .6rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
.actions { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0;
  list-style: none; }
.actions a, td time { white-space: nowrap; }
td .actions { flex-wrap: nowrap; gap: 1rem; }
.muted { color: var(--muted); }
.notice { border-left: 4px solid var(--ok); background: #eefbf1; padding: .5rem .75rem; }
.error { border-left: 4px solid var(--danger); background: #fdf0ef; padding: .5rem .75rem; }
.warning { border-left: 4px solid var(--focus); background: #fff8e6; padding: .5rem .75rem; }
.button, button { display: inline-block; font: inherit; padding: .5rem 1rem; border-radius: 6px;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg);
  text-decoration: none; cursor: pointer; }
.button.secondary, button.secondary { background: var(--bg); color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
button.link { background: none; border: none; color: var(--accent); padding: 0;
  text-decoration: underline; }
form.stack { display: grid; gap: 1rem; max-width: 32rem; }
form.stack p { margin: 0; }
label { font-weight: 600; }
input[type=text], input[type=password] { font: inherit; width: 100%; padding: .5rem;
  border: 1px solid var(--muted); border-radius: 6px; }
.copy { display: flex; gap: .5rem; align-items: stretch; }
.copy input { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; flex: 1;
  min-width: 0; }
.check { display: flex; gap: .5rem; align-items: center; font-weight: 600; }
.check input { width: 1.2rem; height: 1.2rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; }
fieldset label { display: block; font-weight: 400; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1.5rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.row { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
@media (max-width: 60rem) {
  table, thead, tbody, tr, th, td { display: block; }
  thead { position: absolute; left: -999px; }
  tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: 1rem; padding: .5rem; }
  td { border: none; padding: .25rem .5rem; }
  td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
  td .actions { flex-wrap: wrap; }
}
@media (max-width: 40rem) {
  main { padding: 1rem; }
  .top { padding: .5rem 1rem; }
  dl { grid-template-columns: 1fr; gap: 0 0; }
  dd { margin-bottom: .75rem; }
  .copy { flex-direction: column; }
}
"#;

/// The copy buttons (`/admin/admin.js`): a `data-copy="ID"` button copies the value of the
/// element `ID` and says so in the live region `ID-status`.
pub(crate) const JS: &str = r#"document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-copy]");
  if (!b) return;
  var field = document.getElementById(b.getAttribute("data-copy"));
  var status = document.getElementById(b.getAttribute("data-copy") + "-status");
  var say = function (t) { if (status) status.textContent = t; };
  field.select();
  var fallback = function () {
    try { document.execCommand("copy"); say("Copied."); } catch (x) { say("Press Ctrl+C to copy."); }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(function () { say("Copied."); }, fallback);
  } else {
    fallback();
  }
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script> 'q'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; &#39;q&#39;"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn the_frame_escapes_title_notice_and_error() {
        let p = page(
            &Frame {
                title: "<b>",
                csrf: Some("\"x"),
                notice: Some("<i>"),
                error: Some("&"),
            },
            "<p>body</p>",
        );
        assert!(p.contains("<title>&lt;b&gt; · SCIM admin</title>"));
        assert!(p.contains("<h1>&lt;b&gt;</h1>"));
        assert!(p.contains("value=\"&quot;x\""));
        assert!(p.contains("role=\"status\">&lt;i&gt;</p>"));
        assert!(p.contains("role=\"alert\">&amp;</p>"));
        assert!(p.contains("<p>body</p>"));
        assert!(!p.contains("<b>") && !p.contains("<i>"));
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_has_no_markup(s in ".*") {
            let e = escape(&s);
            proptest::prop_assert!(!e.contains(['<', '>', '"', '\'']));
            let back = e.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
                .replace("&#39;", "'").replace("&amp;", "&");
            proptest::prop_assert_eq!(back, s);
        }
    }
}
