// Progressive enhancement only: every flow works without this file.
// Shows what page scripts can read of this site's cookies: the session
// cookie is HttpOnly, so it never appears here.
const out = document.getElementById("js-cookie");
if (out) out.textContent = document.cookie || '"" (the session cookie is HttpOnly)';
