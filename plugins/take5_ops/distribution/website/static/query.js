// take5 free-text queries: the grammar of take5 search (distribution/search.py, parse_text), in the browser.
// Both sides are tested with one table of examples (tests/helpers/query_examples.json).
"use strict";
(function (global) {
  const LEVELS = ["L1A", "L1C", "L2A"];
  const LEVEL_RE = /^l[12][ac]$/i;
  const CLOUD_RE = /^cloud(?:<=|<)(\d+(?:\.\d+)?)%?$/i;
  const PERIOD = "(\\d{4})(?:-(\\d{2})(?:-(\\d{2}))?)?";
  const PERIOD_RE = new RegExp("^" + PERIOD + "$");
  const RANGE_RE = new RegExp("^(?:" + PERIOD + ")?\\.\\.(?:" + PERIOD + ")?$");

  function normalize(text) {  // lower case without accents, as search.normalize
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function iso(y, m, d) {  // YYYY-MM-DD of a UTC date (month 1-12; overflow rolls over)
    return new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10);
  }

  function period(year, month, day, token) {  // [first day, day after the last) of a year, month or day
    const y = Number(year);
    const bad = () => new Error(JSON.stringify(token) + ": not a date (YYYY, YYYY-MM or YYYY-MM-DD)");
    if (month === undefined) return [iso(y, 1, 1), iso(y + 1, 1, 1)];
    const m = Number(month);
    if (m < 1 || m > 12) throw bad();
    if (day === undefined) return [iso(y, m, 1), iso(y, m + 1, 1)];
    const d = Number(day);
    if (d < 1 || iso(y, m, d).slice(5, 7) !== month) throw bad();
    return [iso(y, m, d), iso(y, m, d + 1)];
  }

  function narrow(out, start, end, token) {
    if (start && end && start >= end) throw new Error(JSON.stringify(token) + ": the range ends before it starts");
    if (start && (out.start === null || start > out.start)) out.start = start;
    if (end && (out.end === null || end < out.end)) out.end = end;
    if (out.start && out.end && out.start >= out.end) {
      throw new Error(JSON.stringify(token) + ": the periods of the query do not overlap");
    }
  }

  // {terms, level, start, end, max_cloud}: start the first day, end the day after the last (YYYY-MM-DD).
  function parse(text) {
    const out = {terms: [], level: null, start: null, end: null, max_cloud: null};
    for (const token of text.split(/\s+/).filter(Boolean)) {
      let m;
      if (LEVEL_RE.test(token)) {
        const level = token.toUpperCase();
        if (!LEVELS.includes(level)) throw new Error(JSON.stringify(token) + ": unknown level (one of " + LEVELS.join(", ") + ")");
        if (out.level !== null && out.level !== level) throw new Error("two levels, " + out.level + " and " + level + ": give one");
        out.level = level;
      } else if ((m = CLOUD_RE.exec(token))) {
        const cloud = Number(m[1]);
        if (cloud > 100) throw new Error(JSON.stringify(token) + ": cloud cover is a percentage (0 to 100)");
        out.max_cloud = out.max_cloud === null ? cloud : Math.min(cloud, out.max_cloud);
      } else if ((m = PERIOD_RE.exec(token))) {
        const [start, end] = period(m[1], m[2], m[3], token);
        narrow(out, start, end, token);
      } else if (token !== ".." && (m = RANGE_RE.exec(token))) {
        narrow(out, m[1] ? period(m[1], m[2], m[3], token)[0] : null, m[4] ? period(m[4], m[5], m[6], token)[1] : null, token);
      } else if (token.toLowerCase().startsWith("cloud") && /[<>=]/.test(token)) {
        throw new Error(JSON.stringify(token) + ": write cloud<N or cloud<=N (N in percent)");
      } else {
        const word = normalize(token);
        if (/[\p{L}\p{N}]/u.test(word) && !out.terms.includes(word)) out.terms.push(word);
      }
    }
    return out;
  }

  // Does a site (an entry of sites.json, whose "text" is search.site_text) hold every term?
  function siteMatches(query, site) {
    return query.terms.every((t) => site.text.includes(t));
  }

  // Does a product (an entry of <SITE>/products.json) satisfy the level, period and cloud cover?
  function productMatches(query, product) {
    const day = product.datetime.slice(0, 10);
    return (query.level === null || product.level === query.level) &&
      (query.start === null || day >= query.start) && (query.end === null || day < query.end) &&
      (query.max_cloud === null || (product.cloud !== null && product.cloud <= query.max_cloud));
  }

  global.Take5Query = {parse, normalize, siteMatches, productMatches, LEVELS};
})(window);
