// Fresh figures every 15 seconds without reloading the page: the main part is replaced in place,
// so the scroll position stays and a screen reader is not thrown back to the top.
"use strict";
setInterval(async () => {
  if (document.hidden) return;
  const response = await fetch(location.href, { credentials: "same-origin" }).catch(() => null);
  if (!response || !response.ok || response.redirected) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("main");
  if (fresh) document.querySelector("main").replaceChildren(...fresh.childNodes);
}, 15000);
