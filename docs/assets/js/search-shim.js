// Runs in <head>, before Material's bundle (overrides/main.html), so that two things hold from the
// first script on:
// 1. The explorer keeps its own free-text parameter: Material opens its search overlay for any page
//    whose address has ?q=, so an old /explorer/?q=medusa link becomes /explorer/?text=medusa.
// 2. Hyphenated words stay whole in site search: the query parser of Material's search worker splits
//    every query word at "-" ("4-bit" became "4" OR "bit", and matched 300 pages). Joined ("4bit",
//    "kvcache"), the word matches the joined forms that every method page lists among its search tags
//    (kb/render.py, search_words). Queries reach the worker as {type: 2, data: "..."} messages.
(function () {
  "use strict";
  if (/\/explorer\/$/.test(location.pathname)) {
    var params = new URLSearchParams(location.search);
    if (params.has("q")) {
      if (!params.has("text")) params.set("text", params.get("q"));
      params.delete("q");
      var query = params.toString();
      history.replaceState(history.state, "", location.pathname + (query ? "?" + query : "") + location.hash);
    }
  }
  var SEARCH_QUERY = 2;
  // "4-bit" -> "4bit"; two or three plain words also as one ("flash attention" adds "flashattention",
  // the way names are written), so the page named so ranks first.
  function kbQuery(query) {
    var joined = query.replace(/(\w)-(?=\w)/g, "$1");
    var words = joined.trim().split(/\s+/);
    if (words.length >= 2 && words.length <= 3 && words.every(function (w) { return /^\w+$/.test(w); })) {
      joined += " " + words.join("");
    }
    return joined;
  }
  var post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message) {
    if (message && message.type === SEARCH_QUERY && typeof message.data === "string") {
      var args = Array.prototype.slice.call(arguments);
      args[0] = { type: message.type, data: kbQuery(message.data) };
      return post.apply(this, args);
    }
    return post.apply(this, arguments);
  };
})();
