// The browser tests' own accessibility check, beside axe-core (and alone where npm cannot install it): the page's
// language, a name for every form control (a label, or a button's text), and a contrast of at least
// 4.5:1 between each text and the background behind it (WCAG 2 AA). Returns what is wrong, as strings.
() => {
  const problems = [];
  if (!/^[a-z]{2}/.test(document.documentElement.lang)) problems.push("html has no lang");
  for (const control of document.querySelectorAll("input, textarea, select")) {
    if (!control.labels || control.labels.length === 0) problems.push("no label: " + control.outerHTML);
  }
  for (const button of document.querySelectorAll("button")) {
    if (!button.textContent.trim()) problems.push("no name: " + button.outerHTML);
  }
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const rgb = (text) => text.match(/[\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const [r, g, b, a = 1] = rgb(getComputedStyle(e).backgroundColor);
      if (a > 0) return [r, g, b];
    }
    return [255, 255, 255];
  };
  for (const element of document.body.querySelectorAll("*")) {
    const own = [...element.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!own) continue;
    const [l1, l2] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)}: ${element.outerHTML.slice(0, 80)}`);
  }
  return problems;
}
