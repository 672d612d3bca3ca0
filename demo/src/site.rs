//! The demo site's dynamic pages (static files come from `www/`): a small tea
//! shop whose cart, login and "remember me" live in the session, with a panel
//! showing the session as the server sees it. Plain forms and
//! POST/redirect/GET throughout; nothing needs JavaScript (`www/app.js` only
//! shows what page scripts can read of the cookies).
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the shop; `POST /cart` adds, removes, empties |
//! | `GET /cart` | the cart |
//! | `GET /login` | the form; calls `set_test_cookie` |
//! | `POST /login` | `test_cookie_worked`, then `login` (Django's: `cycle_key`, or `flush` for another user), `set_expiry` |
//! | `POST /logout` | `logout` (`flush`) |
//! | `GET /devices` | "Your devices": the user's sessions (`user_sessions`) |
//!
//! Every page shows the messages (Django's messages framework) that the
//! last action left: cart changes, login, logout, signing out devices.
//! | `POST /devices` | sign out one device (`revoke_session`) or every other one (`revoke_user_sessions`) |

use serde_json::{Map, Value};
use worker::{Method, Request, Response, Result};

use edge_session::workers::{with_session, AnyStore};
use edge_session::Expiry;
use edge_session::Session;

type S = Session<AnyStore>;

/// id, name, price in pence.
const PRODUCTS: &[(&str, &str, i64)] = &[
    ("tea", "Earl Grey tea", 450),
    ("scone", "Fruit scone", 300),
    ("jam", "Strawberry jam", 525),
    ("cream", "Clotted cream", 375),
];

const COOKIES_OFF: &str = "Please enable cookies and try again.";

/// Serves the site's dynamic routes.
pub(super) async fn route(req: Request, env: &worker::Env) -> Result<Response> {
    with_session(req, env, async |req, session| site(req, session).await).await
}

async fn site(mut req: Request, s: &mut S) -> Result<Response> {
    let post = match req.method() {
        Method::Get | Method::Head => false,
        Method::Post => true,
        _ => return Response::error("Method Not Allowed", 405),
    };
    // SameSite=Lax keeps the cookie off cross-site POSTs already; refuse
    // them outright too (browsers send Sec-Fetch-Site on every request).
    if post && req.headers().get("Sec-Fetch-Site")?.as_deref() == Some("cross-site") {
        return Response::error("Forbidden: cross-site form", 403);
    }
    let f = match post {
        true => match form(&mut req).await? {
            Some(f) => f,
            None => return Response::error("Payload Too Large", 413),
        },
        false => Vec::new(),
    };
    let path = req.path();
    match (path.as_str(), post) {
        ("/", false) => home(s).await,
        ("/cart", false) => cart_page(s).await,
        ("/cart", true) => cart_post(s, &f).await,
        ("/login", false) => {
            if user(s).await?.is_some() {
                return redirect("/");
            }
            s.set_test_cookie().await?;
            login_page(s, None, "").await
        }
        ("/login", true) => {
            let agent = req.headers().get("User-Agent")?.unwrap_or_default();
            login_post(s, &f, &agent).await
        }
        ("/logout", true) => {
            // Django's logout(): the record is deleted, the cookie removed;
            // the message starts a new, anonymous session to show it.
            s.logout().await?;
            s.messages().info("You are logged out: logout() deleted the session record and the cookie.");
            redirect("/")
        }
        ("/devices", false) => match user(s).await? {
            Some(_) => devices_page(s).await,
            None => redirect("/login"),
        },
        ("/devices", true) => devices_post(s, &f).await,
        ("/logout", false) => redirect("/"),
        _ => {
            let main = "<h1>Not found</h1><p>No such page. <a href=\"/\">Back to the shop</a>.</p>";
            page(s, "Not found", main).await.map(|r| r.with_status(404))
        }
    }
}

// --- pages ---

async fn home(s: &mut S) -> Result<Response> {
    let mut main = String::new();
    main += &match user(s).await? {
        Some(name) => {
            let how = if s.get_expire_at_browser_close().await? {
                "Your session ends when you close the browser."
            } else {
                "You are remembered on this browser for 14 days."
            };
            format!("<p class=\"note\">Welcome back, <b>{}</b>. {how}</p>", esc(&name))
        }
        None => "<p class=\"note\">You are browsing anonymously: the cart lives in the session all the same. \
                 <a href=\"/login\">Log in</a> and it stays, under a new session key.</p>"
            .into(),
    };
    main += "<h1>Shop</h1><ul class=\"shop\">";
    for (id, name, price) in PRODUCTS {
        main += &format!(
            "<li class=\"card\"><span class=\"swatch {id}\" aria-hidden=\"true\"></span><b>{name}</b>\
             <span class=\"price\">{}</span>{}</li>",
            money(*price),
            cart_button("add", id, "/", &format!("Add {name}"), "Add to cart")
        );
    }
    main += "</ul>";
    page(s, "Shop", &main).await
}

async fn cart_page(s: &mut S) -> Result<Response> {
    let cart = cart(s).await?;
    let mut main = String::from("<h1>Your cart</h1>");
    if cart.is_empty() {
        main += "<p class=\"note\" id=\"cart-empty\">Your cart is empty. <a href=\"/\">Back to the shop</a>.</p>";
        return page(s, "Cart", &main).await;
    }
    main += "<table class=\"cart\" id=\"cart\"><tbody>";
    let mut total = 0;
    for (id, name, price) in PRODUCTS {
        let Some(n) = cart.get(*id).and_then(Value::as_i64) else { continue };
        total += n * price;
        main += &format!(
            "<tr data-item=\"{id}\"><th scope=\"row\">{name}</th><td><div class=\"qty\">{}<span class=\"n\">{n}</span>{}</div></td>\
             <td class=\"num\">{}</td></tr>",
            cart_button("sub", id, "/cart", &format!("One {name} less"), "−"),
            cart_button("add", id, "/cart", &format!("One {name} more"), "+"),
            money(n * price)
        );
    }
    main += &format!(
        "</tbody><tfoot><tr><th scope=\"row\">Total</th><td></td><td class=\"num\" id=\"total\">{}</td></tr></tfoot>\
         </table><div class=\"row\">{}<a href=\"/\">Keep shopping</a></div>",
        money(total),
        cart_button("clear", "", "/cart", "Empty the cart", "Empty cart")
    );
    page(s, "Cart", &main).await
}

async fn login_page(s: &mut S, error: Option<&str>, name: &str) -> Result<Response> {
    let error = error.map_or(String::new(), |e| format!("<p class=\"note bad\" id=\"error\" role=\"alert\">{e}</p>"));
    let main = format!(
        "<h1>Log in</h1>{error}\
         <form method=\"post\" action=\"/login\" class=\"card login\">\
         <label>Name <input name=\"username\" value=\"{}\" required maxlength=\"40\" autocomplete=\"username\"></label>\
         <label>Password <input type=\"password\" name=\"password\" required autocomplete=\"current-password\">\
         <small>Any password works in this demo.</small></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"1\"> <span>Remember me for 14 days\
         <small>Unchecked, the session ends when you close the browser: <code>set_expiry(0)</code>.</small></span></label>\
         <button>Log in</button></form>\
         <p class=\"hint\">Showing this form called <code>set_test_cookie()</code>; logging in first checks \
         <code>test_cookie_worked()</code>, then <code>cycle_key()</code> moves your session to a new key.</p>",
        esc(name)
    );
    page(s, "Log in", &main).await
}

// --- actions ---

async fn login_post(s: &mut S, f: &[(String, String)], user_agent: &str) -> Result<Response> {
    let name = field(f, "username").unwrap_or("").trim().to_owned();
    if !s.test_cookie_worked().await? {
        // As Django's docs do: set it again and ask the user to retry.
        s.set_test_cookie().await?;
        return login_page(s, Some(COOKIES_OFF), &name).await.map(|r| r.with_status(400));
    }
    let problem = if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        Some("Enter a name of 1 to 40 characters.")
    } else if field(f, "password").unwrap_or("").is_empty() {
        Some("Enter a password (any will do).")
    } else {
        None
    };
    if let Some(problem) = problem {
        return login_page(s, Some(problem), &name).await.map(|r| r.with_status(400));
    }
    s.delete_test_cookie().await?;
    // Django's login(): another user's session is flushed, otherwise the data
    // (the cart) moves to a new key against session fixation. The device
    // label is what the "Your devices" page shows; the site keeps only it,
    // not the whole User-Agent.
    let mut meta = Map::new();
    meta.insert("device".into(), Value::from(device_label(user_agent)));
    s.login(&name, Some(meta)).await?;
    let remember = field(f, "remember").is_some();
    s.set_expiry(if remember { Expiry::Default } else { Expiry::BrowserClose }).await?;
    s.messages().success(&format!("Welcome, {name}: login() moved your session to a new key."));
    redirect("/")
}

async fn devices_page(s: &mut S) -> Result<Response> {
    let list = s.user_sessions().await?;
    let mut main = String::from("<h1>Your devices</h1>");
    main += "<p class=\"hint\">Every session you are logged in with, from your index of sessions \
             (<code>user_sessions()</code>). Each has a public id, never its session key.</p><ul class=\"devices\" id=\"devices\">";
    for d in &list {
        let label = d.meta.as_ref().and_then(|m| m.get("device")).and_then(Value::as_str).unwrap_or("A device");
        let when = edge_session::DateTime::from_unix(d.created).to_iso();
        let action = if d.current {
            "<span class=\"badge\" id=\"this-device\">This device</span>".to_owned()
        } else {
            format!(
                "<form method=\"post\" action=\"/devices\"><input type=\"hidden\" name=\"action\" value=\"one\">\
                 <input type=\"hidden\" name=\"id\" value=\"{}\"><button data-action=\"revoke\">Sign out</button></form>",
                esc(&d.id)
            )
        };
        main += &format!(
            "<li class=\"card\" data-current=\"{}\"><b>{}</b><small>signed in <time datetime=\"{when}\">{}</time></small>{action}</li>",
            d.current,
            esc(label),
            when.replacen('T', " ", 1).replace("+00:00", " UTC"),
        );
    }
    main += "</ul>";
    if list.len() > 1 {
        main += "<form method=\"post\" action=\"/devices\"><input type=\"hidden\" name=\"action\" value=\"others\">\
                 <button id=\"sign-out-others\">Sign out everywhere else</button></form>";
    }
    page(s, "Your devices", &main).await
}

async fn devices_post(s: &mut S, f: &[(String, String)]) -> Result<Response> {
    if user(s).await?.is_none() {
        return redirect("/login");
    }
    let n = match (field(f, "action"), field(f, "id")) {
        (Some("one"), Some(id)) => u64::from(s.revoke_session(id).await?),
        (Some("others"), _) => s.revoke_user_sessions(true).await?,
        _ => return Response::error("Bad Request: unknown devices action", 400),
    };
    let what = if n == 1 { "1 device".to_owned() } else { format!("{n} devices") };
    s.messages().success(&format!("Signed out {what}: its session cookie now reads as an empty session."));
    redirect("/devices")
}

async fn cart_post(s: &mut S, f: &[(String, String)]) -> Result<Response> {
    let back = if field(f, "back") == Some("/cart") { "/cart" } else { "/" };
    let item = field(f, "item").filter(|i| PRODUCTS.iter().any(|p| p.0 == *i));
    let mut cart = cart(s).await?;
    let name = |i: &str| PRODUCTS.iter().find(|p| p.0 == i).map_or("", |p| p.1);
    match (field(f, "action"), item) {
        (Some("add"), Some(i)) => {
            let n = cart.get(i).and_then(Value::as_i64).unwrap_or(0);
            cart.insert(i.into(), (n + 1).min(99).into());
            s.messages().add(edge_session::messages::SUCCESS, &format!("Added {} to your cart.", name(i)), "cart");
        }
        (Some("sub"), Some(i)) => match cart.get(i).and_then(Value::as_i64) {
            Some(n) if n > 1 => {
                cart.insert(i.into(), (n - 1).into());
            }
            _ => {
                cart.shift_remove(i);
            }
        },
        (Some("clear"), _) => {
            cart.clear();
            s.messages().info("Your cart is empty now.");
        }
        _ => return Response::error("Bad Request: unknown cart action", 400),
    }
    if cart.is_empty() {
        s.pop_or("cart", Value::Null).await?;
    } else {
        s.set("cart", Value::Object(cart)).await?;
    }
    redirect(back)
}

// --- the frame: header, session panel ---

async fn page(s: &mut S, title: &str, main: &str) -> Result<Response> {
    // Django's messages: shown once, on the next page (then consumed).
    let shown = s.messages().get().await?;
    let notes: String =
        shown.iter().map(|m| format!("<li class=\"note {}\">{}</li>", esc(&m.tags()), esc(&m.message))).collect();
    let main = if notes.is_empty() {
        main.to_owned()
    } else {
        format!("<ul class=\"messages\" id=\"messages\" role=\"status\">{notes}</ul>{main}")
    };
    let count: i64 = cart(s).await?.values().filter_map(Value::as_i64).sum();
    let account = match user(s).await? {
        Some(name) => format!(
            "<a href=\"/devices\">Devices</a><span class=\"who\" id=\"user\">{}</span>\
             <form method=\"post\" action=\"/logout\"><button class=\"link\">Log out</button></form>",
            esc(&name)
        ),
        None => "<a href=\"/login\">Log in</a>".into(),
    };
    let panel = panel(s).await?;
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · edge-session demo</title><link rel=\"stylesheet\" href=\"/style.css\">\
         <link rel=\"icon\" href=\"/favicon.svg\"><script src=\"/app.js\" defer></script></head><body>\
         <header class=\"top\"><a class=\"brand\" href=\"/\">edge<span>·</span>session</a><nav>\
         <a href=\"/\">Shop</a><a href=\"/cart\">Cart <span class=\"badge\" id=\"cart-count\">{count}</span></a>{account}\
         </nav></header><div class=\"wrap\"><main>{main}</main>{panel}</div>\
         <footer>Django's session framework in Rust, on Cloudflare Workers. Works without JavaScript.</footer>\
         </body></html>"
    );
    let mut r = Response::from_html(html)?;
    let h = r.headers_mut();
    h.set("Cache-Control", "no-store")?;
    h.set(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )?;
    h.set("X-Content-Type-Options", "nosniff")?;
    h.set("Referrer-Policy", "same-origin")?;
    Ok(r)
}

async fn panel(s: &mut S) -> Result<String> {
    let data: Map<String, Value> = s.items().await?.into_iter().collect();
    let data = serde_json::to_string_pretty(&data).unwrap_or_default();
    let key = match s.session_key() {
        Some(k) => match (k.get(..6), k.get(k.len().saturating_sub(4)..)) {
            (Some(head), Some(tail)) if k.len() > 12 => format!("<code>{}…{}</code>", esc(head), esc(tail)),
            _ => format!("<code>{}</code>", esc(k)),
        },
        None if s.modified() => "<i>new: assigned when this response is saved</i>".into(),
        None => "<i>none: no session yet</i>".into(),
    };
    let age = s.get_expiry_age().await?;
    let date = s.get_expiry_date().await?.to_iso();
    let close = s.get_expire_at_browser_close().await?;
    let flush = if s.is_empty() {
        ""
    } else {
        "<form method=\"post\" action=\"/logout\"><button class=\"link\">flush()</button></form>"
    };
    Ok(format!(
        "<aside class=\"panel\" aria-labelledby=\"panel-title\"><h2 id=\"panel-title\">Your session</h2><dl>\
         <dt>engine</dt><dd><code id=\"engine\">{}</code></dd>\
         <dt>session_key</dt><dd id=\"session-key\">{key}</dd>\
         <dt>get_expiry_age()</dt><dd id=\"expiry-age\">{age} s <small>({})</small></dd>\
         <dt>get_expiry_date()</dt><dd><time id=\"expiry-date\" datetime=\"{date}\">{}</time></dd>\
         <dt>get_expire_at_browser_close()</dt><dd><span id=\"browser-close\">{}</span> <small>({})</small></dd>\
         <dt>data</dt><dd><pre id=\"session-data\">{}</pre></dd>\
         <dt>document.cookie</dt><dd><code id=\"js-cookie\">(needs JavaScript)</code></dd>\
         </dl>{flush}</aside>",
        s.engine().as_str(),
        duration(age),
        date.replacen('T', " ", 1).replace("+00:00", " UTC"),
        if close { "True" } else { "False" },
        match (close, s.session_key().is_some() || s.modified()) {
            (_, false) => "no cookie yet",
            (true, _) => "a cookie without Expires: gone when the browser closes",
            (false, _) => "the cookie carries Max-Age",
        },
        esc(&data),
    ))
}

// --- helpers ---

async fn user(s: &mut S) -> Result<Option<String>> {
    Ok(s.user_id().await?)
}

/// A short label for the device a login came from ("Chrome on Linux"): all
/// the site keeps of the User-Agent.
fn device_label(agent: &str) -> String {
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .iter()
        .find(|(mark, _)| agent.contains(mark))
        .map_or("A browser", |(_, name)| name);
    let system =
        [("Android", "Android"), ("iPhone", "iPhone"), ("Windows", "Windows"), ("Mac OS", "macOS"), ("Linux", "Linux")]
            .iter()
            .find(|(mark, _)| agent.contains(mark))
            .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

async fn cart(s: &mut S) -> Result<Map<String, Value>> {
    Ok(match s.get("cart").await? {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    })
}

fn cart_button(action: &str, item: &str, back: &str, label: &str, text: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/cart\"><input type=\"hidden\" name=\"action\" value=\"{action}\">\
         <input type=\"hidden\" name=\"item\" value=\"{item}\"><input type=\"hidden\" name=\"back\" value=\"{back}\">\
         <button aria-label=\"{label}\" data-action=\"{action}\" data-item=\"{item}\">{text}</button></form>"
    )
}

fn redirect(location: &str) -> Result<Response> {
    let mut r = Response::empty()?.with_status(303);
    r.headers_mut().set("Location", location)?;
    r.headers_mut().set("Cache-Control", "no-store")?;
    Ok(r)
}

fn money(pence: i64) -> String {
    format!("£{}.{:02}", pence / 100, pence % 100)
}

fn duration(secs: i64) -> String {
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{s} seconds"),
    }
}

/// HTML-escapes text for element content and quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The largest form body the site reads.
const MAX_FORM_BYTES: usize = 8192;

/// An `application/x-www-form-urlencoded` body; `None` over [`MAX_FORM_BYTES`]
/// (refused by its `Content-Length`, or after reading just past the limit:
/// the rest of a larger body is never read).
async fn form(req: &mut Request) -> Result<Option<Vec<(String, String)>>> {
    let declared = req.headers().get("Content-Length")?.and_then(|n| n.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES as u64) {
        return Ok(None);
    }
    let Some(bytes) = read_at_most(req, MAX_FORM_BYTES).await? else { return Ok(None) };
    let body = String::from_utf8_lossy(&bytes);
    Ok(Some(
        body.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (unescape(k), unescape(v))
            })
            .collect(),
    ))
}

/// The request body, or `None` once it is longer than `limit` bytes (the
/// stream is cancelled there, so a huge or endless body costs no more).
async fn read_at_most(req: &Request, limit: usize) -> Result<Option<Vec<u8>>> {
    use worker::js_sys::{Function, Promise, Reflect, Uint8Array};
    use worker::wasm_bindgen::{JsCast, JsValue};
    let Some(body) = req.inner().body() else { return Ok(Some(Vec::new())) };
    let method = |target: &JsValue, name: &str| -> Result<Function> {
        Ok(Reflect::get(target, &name.into())?.dyn_into::<Function>()?)
    };
    let reader = method(&body, "getReader")?.call0(&body)?;
    let read = method(&reader, "read")?;
    let mut out = Vec::new();
    loop {
        let next: Promise = read.call0(&reader)?.dyn_into()?;
        let chunk = worker::wasm_bindgen_futures::JsFuture::from(next).await?;
        if Reflect::get(&chunk, &"done".into())?.as_bool() == Some(true) {
            return Ok(Some(out));
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())?.dyn_into()?;
        if out.len() + value.length() as usize > limit {
            let _ = method(&reader, "cancel")?.call0(&reader);
            return Ok(None);
        }
        out.extend(value.to_vec());
    }
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
