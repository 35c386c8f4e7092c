// pennyworth console: the copy button and confirmations for destructive actions (no inline scripts: CSP).
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  const copy = document.getElementById("copy");
  if (copy) {
    copy.addEventListener("click", async () => {
      const text = document.getElementById(copy.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById(copy.dataset.copy));
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
        document.execCommand("copy");
      }
      document.getElementById("copied").hidden = false;
    });
  }
});
