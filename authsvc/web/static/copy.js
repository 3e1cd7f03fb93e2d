// The one script of the account page: "copy" buttons for the new token and its login command.
// Without it (or without the clipboard API) the command stays selectable text.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
    } catch {
      field.select();
      button.textContent = "Press Ctrl+C to copy";
    }
  });
}
