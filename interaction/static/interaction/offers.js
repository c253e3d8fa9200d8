/* Wagtail Interaction offers client (no dependency, ES2017).
 * <script src="/static/interaction/offers.js" data-api="/api/interaction/v1/" defer>
 * <div data-offer-space="home-hero" data-count="1" data-category="cards"
 *      data-themes="travel,cars" data-contact="42"></div>
 * One request per page (POST propose/batch, 20 spaces a request); elements asking
 * a space with the same options share one call and never repeat an offer. Every
 * [data-proposition][data-token] element (filled here or by {% offer_space %})
 * records "presented" when shown and "accepted" when clicked. On any failure
 * the element stays empty.
 * data-unique-offers on the script: one offer once per page. No space shows an
 * offer another shows: the calls exclude the offers of the calls before them
 * (in the page's order) and those already on the page ([data-offer], e.g.
 * rendered by {% offer_space %}).
 */
(() => {
  "use strict";
  const script = document.currentScript;
  const options = (script && script.dataset) || {};
  const API = (options.api || "/api/interaction/v1/").replace(/\/?$/, "/");
  const COOKIE = options.visitorCookie || "interaction_visitor";
  const ORDER = { presented: 1, accepted: 2 };
  const UNIQUE = options.uniqueOffers !== undefined && options.uniqueOffers !== "false";
  const MAX_SHOWN = 200; // the API's limits: codes sent, and a code's length
  const MAX_CODE = 50;

  function visitorId() {
    if (options.visitor) return options.visitor;
    const match = document.cookie.match(new RegExp("(?:^|;\\s*)" + COOKIE + "=([0-9a-f]{32})"));
    if (match) return match[1];
    try {
      // No middleware on this site: make the same kind of id ourselves.
      const id = crypto.randomUUID().replace(/-/g, "");
      document.cookie = `${COOKIE}=${id}; path=/; max-age=31536000; SameSite=Lax`;
      return id;
    } catch (error) {
      return null;
    }
  }

  function send(path, body) {
    const url = API + path;
    const json = JSON.stringify(body);
    try {
      const blob = new Blob([json], { type: "application/json" });
      if (navigator.sendBeacon && navigator.sendBeacon(url, blob)) return;
    } catch (error) {} // eslint-disable-line no-empty
    const headers = { "Content-Type": "application/json" };
    fetch(url, { method: "POST", keepalive: true, headers, body: json }).catch(() => {});
  }

  function setStatus(element, status) {
    const { proposition, token } = element.dataset;
    if (!proposition || !token) return;
    // Never go back from "accepted" to "presented".
    if ((ORDER[element.dataset.interactionStatus] || 0) >= ORDER[status]) return;
    element.dataset.interactionStatus = status;
    send(`propositions/${encodeURIComponent(proposition)}/status`, { status, token });
  }

  function shown(entries) {
    for (const entry of entries.filter((e) => e.isIntersecting)) {
      observer.unobserve(entry.target);
      setStatus(entry.target, "presented");
    }
  }
  const observer = "IntersectionObserver" in window ? new IntersectionObserver(shown) : null;

  function track(element) {
    if (element.dataset.interactionTracked) return;
    element.dataset.interactionTracked = "1";
    if (observer) observer.observe(element);
    else setStatus(element, "presented");
    element.addEventListener("click", () => setStatus(element, "accepted"));
  }

  function shownOffers() {
    const codes = new Set();
    for (const element of document.querySelectorAll("[data-offer]")) {
      // Another use of data-offer by the site is no code: never sent (a 422).
      const code = element.dataset.offer;
      if (code && code.length <= MAX_CODE) codes.add(code);
    }
    return [...codes].slice(0, MAX_SHOWN);
  }

  async function proposeAll(calls) {
    const body = { calls };
    if (UNIQUE) {
      body.unique_offers = true;
      body.shown_offers = shownOffers();
    }
    const response = await fetch(API + "propose/batch", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return (await response.json()).results;
  }

  function fill(element, result, propositions) {
    element.textContent = "";
    element.dataset.interaction = result.interaction;
    for (const proposition of propositions) {
      const wrapper = document.createElement("div");
      wrapper.className = "interaction-proposition";
      wrapper.dataset.offer = proposition.offer.code;
      if (proposition.id != null && proposition.token) {
        wrapper.dataset.proposition = proposition.id;
        wrapper.dataset.token = proposition.token;
      }
      wrapper.innerHTML = proposition.html;
      element.appendChild(wrapper);
      track(wrapper);
    }
  }

  function count(element) {
    const value = parseInt(element.dataset.count || "1", 10);
    return Math.min(100, Math.max(1, Number.isNaN(value) ? 1 : value));
  }

  function distribute(group, result) {
    let next = 0;
    for (const element of group.elements) {
      const share = result.propositions.slice(next, next + count(element));
      next += share.length;
      fill(element, result, share);
    }
  }

  async function load(groups) {
    if (!groups.length) return;
    for (const group of groups) {
      group.request.count = Math.min(
        100, group.elements.reduce((sum, element) => sum + count(element), 0));
    }
    try {
      const results = await proposeAll(groups.map((group) => group.request));
      results.forEach((item, index) => {
        if (item.status === 200 && item.result) distribute(groups[index], item.result);
      });
    } catch (error) {} // eslint-disable-line no-empty -- failed: stays empty
  }

  function start() {
    const visitor = document.querySelector("[data-offer-space]") ? visitorId() : null;
    const groups = new Map();
    for (const element of document.querySelectorAll("[data-offer-space]")) {
      if (element.dataset.interactionLoaded) continue;
      element.dataset.interactionLoaded = "1";
      const data = element.dataset;
      const request = {
        space: data.offerSpace,
        contact: data.contact || options.contact || null,
        visitor,
        category: data.category || null,
        themes: (data.themes || "").split(",").map((t) => t.trim()).filter(Boolean),
      };
      const key = JSON.stringify(request);
      if (!groups.has(key)) groups.set(key, { request, elements: [] });
      groups.get(key).elements.push(element);
    }
    for (const element of document.querySelectorAll("[data-proposition][data-token]")) {
      track(element);
    }
    const all = [...groups.values()];
    const batches = [];
    for (let i = 0; i < all.length; i += 20) batches.push(all.slice(i, i + 20));
    if (!UNIQUE) return Promise.all(batches.map(load));
    // One after the other: each excludes the offers the ones before it showed.
    return batches.reduce((done, batch) => done.then(() => load(batch)), Promise.resolve());
  }

  window.InteractionOffers = { start };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
