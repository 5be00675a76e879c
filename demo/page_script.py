"""A script for the page's <head>: size units as people write them.

Gradio's browser side refuses an upload over the server's ``max_file_size``
with "File(s) exceed the maximum allowed size of 5.0 Mb" (megabits, by its
unit table). This rewrites that unit in such messages as they appear: "5.0 MB".
"""

UNITS_JS = """
<script>
(() => {
  const fix = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (/\\d Mb\\b/.test(node.nodeValue)) node.nodeValue = node.nodeValue.replace(/(\\d) Mb\\b/g, "$1 MB");
    }
  };
  const start = () => new MutationObserver((changes) => {
    for (const c of changes) for (const n of c.addedNodes) fix(n.nodeType === 3 ? n.parentNode || n : n);
    for (const c of changes) if (c.type === "characterData" && c.target.parentNode) fix(c.target.parentNode);
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
</script>
"""
