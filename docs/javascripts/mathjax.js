// MathJax settings for pymdownx.arithmatex (generic mode), as mkdocs-material documents them.
// Formulas show as TeX source where MathJax cannot be loaded.
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
