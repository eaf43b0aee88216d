// take5 pages: the map, the search box, the cart and the site page's filters (no build step).
// The cart is kept in this browser (localStorage "take5-cart") as a JSON list of
// {"collection": SITE_ID, "item": PRODUCT_NAME, "assets": [asset keys]}; downloadCart() is the one action that
// turns it into files: a Metalink built here from the Items, or, when config.json names an order_url
// (accounts mode), an order posted to that server.
"use strict";
(function () {
  const rootURL = new URL(document.body.dataset.root || "./", document.baseURI);  // the bucket's root folder
  const CART_KEY = "take5-cart";
  const $ = (sel) => document.querySelector(sel);

  // ---- documents -------------------------------------------------------------------------------------------
  async function getJSON(url) {
    const response = await fetch(url, {cache: "no-cache"});
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }
  let sitesPromise = null;
  function sitesIndex() {
    sitesPromise = sitesPromise || getJSON(new URL("sites.json", rootURL)).then((d) => d.sites);
    return sitesPromise;
  }
  const productIndexes = new Map();
  function siteProducts(site, fresh) {  // the products of a site (products.json); fresh: read again
    if (fresh || !productIndexes.has(site)) {
      productIndexes.set(site, getJSON(new URL(encodeURIComponent(site) + "/products.json", rootURL))
        .then((d) => d.products));
    }
    return productIndexes.get(site);
  }
  let configPromise = null;
  function siteConfig() {  // config.json: {"order_url": null} = public downloads
    configPromise = configPromise || getJSON(new URL("config.json", rootURL)).catch(() => ({order_url: null}));
    return configPromise;
  }

  // ---- the cart --------------------------------------------------------------------------------------------
  function validEntry(e) {
    return e && typeof e.collection === "string" && typeof e.item === "string" && Array.isArray(e.assets);
  }
  function loadCart() {
    try {
      const cart = JSON.parse(localStorage.getItem(CART_KEY) || "[]");
      return Array.isArray(cart) ? cart.filter(validEntry) : [];
    } catch (e) {
      return [];
    }
  }
  function saveCart(cart) {
    localStorage.setItem(CART_KEY, JSON.stringify(cart));
    document.dispatchEvent(new Event("take5-cart"));
  }
  function entryOf(site, product) {
    return {collection: site, item: product.id, assets: Object.keys(product.assets)};
  }
  function addToCart(entries) {  // returns how many products were new
    const cart = loadCart();
    let added = 0;
    for (const e of entries) {
      const old = cart.find((c) => c.collection === e.collection && c.item === e.item);
      if (old) {
        old.assets = Array.from(new Set(old.assets.concat(e.assets))).sort();
      } else {
        cart.push({collection: e.collection, item: e.item, assets: e.assets.slice().sort()});
        added += 1;
      }
    }
    saveCart(cart);
    return added;
  }
  async function addAll(site, level) {
    const products = await siteProducts(site, true);
    return addToCart(products.filter((p) => p.level === level).map((p) => entryOf(site, p)));
  }
  async function addOne(site, item) {
    const product = (await siteProducts(site, true)).find((p) => p.id === item);
    return product ? addToCart([entryOf(site, product)]) : 0;
  }
  function removeFromCart(site, item) {
    saveCart(loadCart().filter((c) => !(c.collection === site && c.item === item)));
  }
  async function setAssetKey(key, chosen) {  // choose (or drop) one asset key in every product of the cart
    const sites = chosen ? Array.from(new Set(loadCart().map((e) => e.collection))) : [];
    const indexes = new Map(await Promise.all(sites.map((s) => siteProducts(s).then((ps) => [s, ps], () => [s, []]))));
    const cart = loadCart();  // read once the indexes are here: what the user changed meanwhile is kept
    for (const e of cart) {
      if (!chosen) {
        e.assets = e.assets.filter((k) => k !== key);
      } else if (!e.assets.includes(key)) {
        const product = (indexes.get(e.collection) || []).find((p) => p.id === e.item);
        if (product && key in product.assets) e.assets = e.assets.concat([key]).sort();
      }
    }
    saveCart(cart);
  }

  // The current products of the cart: entries whose product is still published, with its index entry.
  async function resolveCart(cart, fresh) {
    const found = [], gone = [];
    for (const site of Array.from(new Set(cart.map((e) => e.collection)))) {
      let products = [];
      try {
        products = await siteProducts(site, fresh);
      } catch (e) {
        products = [];  // the site is no longer published
      }
      const byId = new Map(products.map((p) => [p.id, p]));
      for (const e of cart.filter((c) => c.collection === site)) {
        const product = byId.get(e.item);
        (product ? found : gone).push({entry: e, product});
      }
    }
    return {found, gone};
  }

  function xmlEscape(text) {
    return String(text).replace(/[<>&"']/g, (c) => ({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;"}[c]));
  }

  // Metalink 4 (RFC 5854) of the chosen assets of the cart's current products, from their Items:
  // every file named by its key in the bucket (as take5 cart names it), with its size, SHA-256 and URL.
  async function buildMetalink(cart) {
    const {found, gone} = await resolveCart(cart, true);
    const files = new Map();
    for (const {entry, product} of found) {
      const itemURL = new URL(encodeURIComponent(entry.collection) + "/" + product.href, rootURL);
      const item = await getJSON(itemURL);
      for (const key of entry.assets) {
        const asset = (item.assets || {})[key];
        const m = asset && /^1220([0-9a-f]{64})$/.exec(asset["file:checksum"] || "");
        if (!m || !Number.isInteger(asset["file:size"])) continue;
        const url = new URL(asset.href, itemURL);
        const name = decodeURIComponent(url.pathname.slice(rootURL.pathname.length));
        files.set(name, {name, size: asset["file:size"], sha256: m[1], url: url.href});
      }
    }
    const sorted = Array.from(files.values()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<metalink xmlns="urn:ietf:params:xml:ns:metalink">',
      " <generator>take5 website</generator>"];
    for (const f of sorted) {
      lines.push(' <file name="' + xmlEscape(f.name) + '">', "  <size>" + f.size + "</size>",
        '  <hash type="sha-256">' + f.sha256 + "</hash>", "  <url>" + xmlEscape(f.url) + "</url>", " </file>");
    }
    lines.push("</metalink>", "");
    return {xml: lines.join("\n"), files: sorted.length, bytes: sorted.reduce((n, f) => n + f.size, 0),
      gone: gone.map((g) => g.entry.item)};
  }

  function save(blob, filename) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  }

  // THE download action. Public mode (config.json's order_url null): a Metalink built here. Accounts mode:
  // the cart is posted, as JSON, to order_url, whose answer (a .meta4 of presigned URLs) is saved.
  async function downloadCart() {
    const cart = loadCart().filter((e) => e.assets.length);
    if (!cart.length) throw new Error("the cart has no file to download");
    const config = await siteConfig();
    if (config.order_url) {
      const response = await fetch(config.order_url, {method: "POST", credentials: "include",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(cart)});
      if (!response.ok) {  // the server says why ({"detail", "field"}); 401: not signed in
        const why = await response.json().then((j) => j.detail).catch(() => response.statusText);
        throw Object.assign(new Error("order refused (HTTP " + response.status + "): " + why),
          response.status === 401 ? {link: new URL("signin", config.order_url).href, linkText: "Sign in"} : {});
      }
      save(await response.blob(), "take5-cart.meta4");
      return {ordered: cart.length};
    }
    const built = await buildMetalink(cart);
    if (!built.files) throw new Error("none of the cart's products is still published");
    save(new Blob([built.xml], {type: "application/metalink4+xml"}), "take5-cart.meta4");
    return built;
  }

  // ---- display helpers -------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function size(bytes) {
    return bytes >= 1e9 ? (bytes / 1e9).toFixed(2) + " GB" : bytes >= 1e6 ? (bytes / 1e6).toFixed(1) + " MB" : Math.round(bytes / 1e3) + " kB";
  }
  function productSize(product, keys) {
    return (keys || Object.keys(product.assets)).reduce((n, k) => n + (product.assets[k] || 0), 0);
  }
  function when(product) {
    return product.datetime.slice(0, 16).replace("T", " ");
  }
  function cloudText(product) {
    return product.cloud === null ? "–" : product.cloud.toFixed(1) + " %";
  }
  function report(target, error) {
    $(target).replaceChildren(error.message || String(error));
    if (error.link) $(target).append(" ", el("a", {href: error.link}, error.linkText));
  }
  function renderCount() {
    const n = loadCart().length;
    for (const node of document.querySelectorAll(".cart-count")) node.textContent = String(n);
  }

  // ---- buttons on every page ------------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.add-all, button.add-one");
    if (!button) return;
    const site = button.dataset.site || document.body.dataset.site;
    const done = button.classList.contains("add-all") ? addAll(site, button.dataset.level) : addOne(site, button.dataset.item);
    done.then((n) => { button.dataset.added = String(n); button.classList.add("added"); })
      .catch((e) => console.warn("take5: not added to the cart:", e.message));
  });
  document.addEventListener("take5-cart", renderCount);
  window.addEventListener("storage", (e) => e.key === CART_KEY && document.dispatchEvent(new Event("take5-cart")));

  // ---- the cart section (root page) ------------------------------------------------------------------------
  let cartDrawing = 0;  // a slower earlier drawing of the cart never overwrites a later one
  async function renderCart() {
    const box = $("#cart");
    if (!box) return;
    const cart = loadCart(), mine = ++cartDrawing;
    const {found, gone} = await resolveCart(cart, false);
    if (mine !== cartDrawing) return;
    const keys = new Map();  // asset key -> chosen in some product
    let files = 0, bytes = 0;
    const body = $("#cart-items tbody");
    body.replaceChildren();
    for (const {entry, product} of found) {
      for (const k of Object.keys(product.assets)) keys.set(k, keys.get(k) || entry.assets.includes(k));
      const chosen = entry.assets.filter((k) => k in product.assets);
      files += chosen.length;
      bytes += productSize(product, chosen);
      body.append(el("tr", {"data-item": entry.item, "data-site": entry.collection},
        el("td", {}, entry.collection), el("td", {class: "name"}, entry.item), el("td", {}, product.level),
        el("td", {}, when(product)), el("td", {class: "num"}, chosen.length + " of " + Object.keys(product.assets).length),
        el("td", {class: "num"}, size(productSize(product, chosen))),
        el("td", {}, el("button", {type: "button", class: "remove", onclick: () => removeFromCart(entry.collection, entry.item)}, "Remove"))));
    }
    for (const {entry} of gone) {
      body.append(el("tr", {class: "gone", "data-item": entry.item}, el("td", {}, entry.collection),
        el("td", {class: "name"}, entry.item), el("td", {colspan: 4}, "no longer published: left out of downloads"),
        el("td", {}, el("button", {type: "button", class: "remove", onclick: () => removeFromCart(entry.collection, entry.item)}, "Remove"))));
    }
    const fieldset = $("#cart-assets");
    fieldset.querySelectorAll("label").forEach((l) => l.remove());
    for (const k of Array.from(keys.keys()).sort()) {
      const input = el("input", {type: "checkbox", name: "asset", value: k, onchange: (e) => setAssetKey(k, e.target.checked)});
      input.checked = keys.get(k);
      fieldset.append(el("label", {}, input, " " + k));
    }
    fieldset.hidden = $("#cart-items").hidden = !cart.length;
    $("#cart-download").disabled = !files;
    $("#cart-clear").disabled = !cart.length;
    $("#cart-summary").textContent = cart.length
      ? found.length + " product(s), " + files + " file(s), " + size(bytes) + (gone.length ? "; " + gone.length + " no longer published" : "")
      : "The cart is empty.";
  }
  function setUpCart() {
    if (!$("#cart")) return;
    $("#cart-download").addEventListener("click", () => {
      $("#cart-status").textContent = "Preparing…";
      downloadCart().then((r) => {
        $("#cart-status").textContent = r.ordered ? "Ordered " + r.ordered + " product(s)."
          : "take5-cart.meta4: " + r.files + " file(s), " + size(r.bytes) + (r.gone.length ? "; left out (no longer published): " + r.gone.join(", ") : "") + ".";
      }).catch((e) => report("#cart-status", e));
    });
    $("#cart-clear").addEventListener("click", () => saveCart([]));
    document.addEventListener("take5-cart", () => renderCart().catch((e) => report("#cart-status", e)));
    renderCart().catch((e) => report("#cart-status", e));
  }

  // ---- search (root page) ----------------------------------------------------------------------------------
  let lastResults = [];
  async function search(text) {  // [{site, product}] of the free-text query, by acquisition time
    const query = Take5Query.parse(text);
    const sites = (await sitesIndex()).filter((s) => Take5Query.siteMatches(query, s));
    const lists = await Promise.all(sites.map((s) => siteProducts(s.id).then((ps) => ps.map((p) => ({site: s, product: p})))));
    return lists.flat().filter((r) => Take5Query.productMatches(query, r.product))
      .sort((a, b) => (a.product.datetime + a.product.id < b.product.datetime + b.product.id ? -1 : 1));
  }
  function renderResults(results) {
    lastResults = results;
    const body = $("#results tbody");
    body.replaceChildren();
    for (const {site, product} of results.slice(0, 500)) {
      const thumb = product.thumbnail
        ? el("img", {class: "qkl", loading: "lazy", alt: "quicklook", src: new URL(encodeURIComponent(site.id) + "/" + product.thumbnail, rootURL).href}) : "";
      body.append(el("tr", {"data-item": product.id, "data-site": site.id},
        el("td", {}, el("a", {href: encodeURIComponent(site.id) + "/index.html"}, site.name)),
        el("td", {}, when(product) + " UTC"), el("td", {class: "level-" + product.level}, product.level),
        el("td", {class: "num"}, cloudText(product)), el("td", {}, thumb), el("td", {class: "num"}, size(productSize(product))),
        el("td", {class: "name"}, el("a", {href: encodeURIComponent(site.id) + "/" + product.href}, product.id)),
        el("td", {}, el("button", {type: "button", class: "add-one", "data-site": site.id, "data-item": product.id}, "Add to cart"))));
    }
    $("#results-box").hidden = !results.length;
    $("#add-results").disabled = false;
    $("#search-status").textContent = results.length + " product(s)" + (results.length > 500 ? ", the first 500 shown" : "");
  }
  function setUpSearch() {
    const form = $("#search");
    if (!form) return;
    let latest = 0;  // a slower earlier search never overwrites the results of a later one
    const run = () => {
      const text = form.elements.q.value, mine = ++latest;
      history.replaceState(null, "", text ? "?q=" + encodeURIComponent(text) + location.hash : location.pathname + location.hash);
      $("#search-status").textContent = "Searching…";  // the previous results are not taken for this query's
      $("#add-results").disabled = true;
      search(text).then((results) => { if (mine === latest) renderResults(results); })
        .catch((e) => { if (mine === latest) { renderResults([]); report("#search-status", e); } });
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
    $("#add-results").addEventListener("click", () => {
      const n = addToCart(lastResults.map((r) => entryOf(r.site.id, r.product)));
      $("#search-status").textContent = n + " product(s) added to the cart";
    });
    const q = new URLSearchParams(location.search).get("q");
    if (q) {
      form.elements.q.value = q;
      run();
    }
  }

  // ---- the map (root page) ---------------------------------------------------------------------------------
  // Natural Earth cuts the lands that cross the antimeridian (Chukotka, Fiji) at ±180°: a ring's step
  // across it would draw a line across the world. Each step goes on past ±180° instead (longitudes made
  // continuous), unless the ring then fails to close: it circles the pole (Antarctica) and is kept as it is.
  function unwrap(ring) {
    const out = [];
    for (const [x, y] of ring) {
      const previous = out.length ? out[out.length - 1][0] : x;
      out.push([x + 360 * Math.round((previous - x) / 360), y]);
    }
    return out.length && Math.abs(out[out.length - 1][0] - out[0][0]) < 180 ? out : ring;
  }
  function unwrapGeometry(g) {
    if (g.type === "Polygon" || g.type === "MultiLineString") return {...g, coordinates: g.coordinates.map(unwrap)};
    if (g.type === "MultiPolygon") return {...g, coordinates: g.coordinates.map((poly) => poly.map(unwrap))};
    if (g.type === "LineString") return {...g, coordinates: unwrap(g.coordinates)};
    return g;
  }
  function unwrapFeatures(geojson) {
    return geojson.type === "FeatureCollection"
      ? {...geojson, features: geojson.features.map((f) => ({...f, geometry: unwrapGeometry(f.geometry)}))}
      : geojson.type === "Feature" ? {...geojson, geometry: unwrapGeometry(geojson.geometry)} : unwrapGeometry(geojson);
  }

  async function drawMap() {
    const box = $("#map");
    if (!box || !window.L || !window.topojson) return;
    const map = L.map(box, {worldCopyJump: true, minZoom: 1, maxZoom: 11, zoomSnap: 0.5});
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("Leaflet · Natural Earth");
    map.setView([20, 0], 1.5);
    const [world, sites] = await Promise.all([getJSON(new URL("assets/countries-110m.json", rootURL)), sitesIndex()]);
    L.geoJSON(unwrapFeatures(topojson.feature(world, world.objects.land)), {className: "land", interactive: false}).addTo(map);
    L.geoJSON(unwrapFeatures(topojson.mesh(world, world.objects.countries, (a, b) => a !== b)),
      {className: "border", interactive: false}).addTo(map);
    const bounds = [];
    for (const s of sites.filter((s) => s.bbox)) {
      const [w, south, e, n] = s.bbox;
      const popup = () => el("div", {class: "popup"}, el("strong", {}, el("a", {href: encodeURIComponent(s.id) + "/index.html"}, s.name)),
        " (" + s.country + ")", el("br"), Take5Query.LEVELS.map((l) => (s.counts[l] || 0) + " " + l).join(", "), el("br"),
        ...Take5Query.LEVELS.filter((l) => s.counts[l]).map((l) => el("button", {type: "button", class: "add-all", "data-site": s.id, "data-level": l}, "+ all " + l)));
      L.rectangle([[south, w], [n, e]], {className: "site-footprint", weight: 2}).bindPopup(popup).addTo(map);
      L.circleMarker([(south + n) / 2, (w + e) / 2], {className: "site-marker", radius: 6}).bindPopup(popup)
        .bindTooltip(s.name).addTo(map);
      bounds.push([south, w], [n, e]);
    }
    if (bounds.length) map.fitBounds(L.latLngBounds(bounds).pad(0.5), {maxZoom: 4});
    box.dataset.ready = String(sites.length);
  }

  // ---- the site page's filters -----------------------------------------------------------------------------
  function setUpFilters() {
    const form = document.getElementById("filters");
    if (!form) return;
    const rows = Array.from(document.querySelectorAll("#products tbody tr"));
    const count = document.getElementById("count");
    function apply() {
      const level = form.elements.level.value;
      const start = form.elements.start.value;   // YYYY-MM-DD or ""
      const end = form.elements.end.value;
      const maxText = form.elements.maxcloud.value.trim();
      const maxCloud = maxText === "" ? null : Number(maxText);
      let shown = 0;
      for (const row of rows) {
        const d = row.dataset;
        const cloud = d.cloud === "" ? null : Number(d.cloud);
        const ok = (level === "" || d.level === level) &&
          (start === "" || d.date >= start) && (end === "" || d.date <= end) &&
          (maxCloud === null || Number.isNaN(maxCloud) || (cloud !== null && cloud <= maxCloud));
        row.hidden = !ok;
        if (ok) shown += 1;
      }
      count.textContent = shown + " of " + rows.length + " products shown";
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("reset", () => setTimeout(apply, 0));
    apply();
  }

  window.Take5 = {loadCart, saveCart, addToCart, addAll, setAssetKey, buildMetalink, downloadCart, search, siteConfig};
  renderCount();
  setUpFilters();
  setUpCart();
  setUpSearch();
  drawMap().catch((e) => console.warn("take5: map:", e.message));
})();
