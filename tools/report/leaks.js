/*
 * leaks.js - the summary at the top, the loss records of the exit scan as
 * `heapsnap leaks` lists them, and each leaked cycle drawn as a graph:
 * blocks (allocation site, size) around a circle, pointers as arrows with
 * the offset in the source block where the pointer sits.
 */
"use strict";
(function () {
	var KINDS = ["definite", "indirect", "possible", "reachable"];
	var TITLES = {definite: "definitely lost", indirect: "indirectly lost", possible: "possibly lost", reachable: "still reachable"};

	function card(label, value, field, sub) {
		return HS.el("div", {class: "card"}, [
			HS.el("div", {class: "label", text: label}),
			HS.el("div", {class: "value", "data-field": field, text: value}),
			sub ? HS.el("div", {class: "sub", text: sub}) : null]);
	}

	HS.drawSummary = function (D, box) {
		var S = D.summary;
		if (S.truncated)
			box.appendChild(HS.el("p", {class: "warn", "data-field": "truncated",
				text: "Truncated trace: " + (S.truncation || "the process did not finish writing it") + ". This report shows what was recorded."}));
		var cards = HS.el("div", {class: "cards"});
		cards.appendChild(card("peak live heap", HS.int(S.peak.bytes) + " B", "peak.bytes",
			HS.bytes(S.peak.bytes) + " in " + HS.int(S.peak.blocks) + " blocks at " + HS.secs(S.peak.time) +
			(D.traces.length > 1 ? " (pid " + S.peak.pid + ", the largest process)" : "")));
		cards.appendChild(card("live at exit", HS.int(S.live.bytes) + " B", "live.bytes", HS.int(S.live.blocks) + " blocks"));
		cards.appendChild(card("events", HS.int(S.events), "events",
			HS.int(S.allocations) + " allocations, " + HS.int(S.temporary) + " temporary"));
		cards.appendChild(card("duration", HS.secs(S.duration), "duration", S.end));
		if (S.scanned) {
			KINDS.forEach(function (k) {
				var v = S.leaks[k];
				cards.appendChild(card(TITLES[k], HS.int(v.bytes) + " B", "leaks." + k + ".bytes", HS.int(v.blocks) + " blocks"));
			});
			cards.appendChild(card("leaked cycles", HS.int(S.cycles.count), "cycles.count",
				HS.int(S.cycles.blocks) + " blocks, " + HS.int(S.cycles.bytes) + " B"));
		}
		box.appendChild(cards);
		var facts = HS.el("dl", {class: "facts"});
		D.traces.forEach(function (t, i) {
			function fact(k, v, f) {
				facts.appendChild(HS.el("dt", {text: k}));
				facts.appendChild(HS.el("dd", {text: v, "data-field": f ? f + "." + i : null}));
			}
			fact("process", (t.exe || "?") + " (pid " + t.pid + ", parent " + t.ppid + ")", "process");
			fact("command", t.cmdline || "");
			fact("trace", t.path + (t.truncated ? " (TRUNCATED: " + t.truncation + ")" : " (complete)"));
			fact("ended", t.end || "not recorded");
			fact("events", HS.int(t.events) + " (" + Object.keys(t.by_kind).filter(function (k) { return t.by_kind[k]; })
				.map(function (k) { return k + " " + HS.int(t.by_kind[k]); }).join(", ") + ")", "trace-events");
			fact("threads, stacks", HS.int(t.threads) + " threads, " + HS.int(t.stacks) + " distinct stacks");
			if (D.traces.length > 1) {
				fact("peak live heap", HS.int(t.peak.bytes) + " B in " + HS.int(t.peak.blocks) + " blocks at " + HS.secs(t.peak.time), "trace-peak");
				fact("live at exit", HS.int(t.live.bytes) + " B in " + HS.int(t.live.blocks) + " blocks", "trace-live");
			}
		});
		box.appendChild(facts);
		if (D.notes) D.notes.forEach(function (n) { box.appendChild(HS.el("p", {class: "note", text: n})); });
	};

	HS.drawLeaks = function (D, box) {
		var S = D.summary;
		if (!S.scanned) {
			box.appendChild(HS.el("p", {class: "warn", "data-field": "no-scan",
				text: "No pointer scan in this trace (" + (S.scan_note || "the program was killed, exec'ed, or ran with --no-scan") +
					"): leaks cannot be told apart from memory still in use."}));
			return;
		}
		var t = HS.el("table", {class: "data", "data-table": "leak-summary"}, [HS.el("thead", {}, [HS.el("tr", {}, [
			HS.el("th", {class: "str", text: "class"}), HS.el("th", {text: "bytes"}), HS.el("th", {text: "blocks"})])])]);
		var tb = HS.el("tbody");
		KINDS.forEach(function (k) {
			var v = S.leaks[k];
			tb.appendChild(HS.el("tr", {"data-kind": k}, [HS.el("td", {class: "str kind-" + k, text: TITLES[k]}),
				HS.el("td", {class: "num", text: HS.int(v.bytes)}), HS.el("td", {class: "num", text: HS.int(v.blocks)})]));
		});
		tb.appendChild(HS.el("tr", {"data-kind": "suppressed"}, [HS.el("td", {class: "str", text: "suppressed"}),
			HS.el("td", {class: "num", text: HS.int(S.suppressed.bytes)}), HS.el("td", {class: "num", text: HS.int(S.suppressed.blocks)})]));
		t.appendChild(tb);
		box.appendChild(t);
		var shown = D.leaks.filter(function (l) { return !l.suppressed && l.kind !== "reachable"; });
		var reach = D.leaks.filter(function (l) { return !l.suppressed && l.kind === "reachable"; });
		var supp = D.leaks.filter(function (l) { return l.suppressed; });
		box.appendChild(HS.el("p", {class: "note", text: shown.length + " loss records of leaked memory, largest first" +
			(S.suppressed.records ? "; " + S.suppressed.records + " suppressed (" + HS.int(S.suppressed.bytes) + " B in " + HS.int(S.suppressed.blocks) + " blocks)" : "") +
			(D.leaks_omitted ? "; " + D.leaks_omitted + " smaller records not included" : "") + ". Click a record for its stack."}));
		var list = HS.el("div", {"data-list": "leaks"});
		shown.concat(reach, supp).forEach(function (l) {
			var d = HS.el("details", {class: "leak" + (l.suppressed ? " suppressed" : ""), "data-kind": l.kind}, [
				HS.el("summary", {}, [HS.el("span", {class: "kind-" + l.kind, text: l.kind + (l.suppressed ? " (suppressed)" : "")}),
					HS.el("span", {class: "num", text: HS.int(l.bytes) + " B in " + HS.int(l.blocks) + " blocks"}),
					HS.el("span", {class: "site", text: HS.siteText(D, l.stack)}),
					D.traces.length > 1 ? HS.el("span", {class: "note", text: "pid " + D.traces[l.trace].pid}) : null])]);
			d.addEventListener("toggle", function () {
				if (d.open && d.children.length === 1) d.appendChild(HS.stackList(D, l.stack));
			});
			list.appendChild(d);
		});
		box.appendChild(list);
	};

	/* Where the segment from c towards p leaves a w x h box centred on c. */
	function border(c, p, w, h) {
		var dx = p[0] - c[0], dy = p[1] - c[1];
		var t = Math.min(dx ? w / 2 / Math.abs(dx) : Infinity, dy ? h / 2 / Math.abs(dy) : Infinity, 1);
		return [c[0] + dx * t, c[1] + dy * t];
	}

	var MAX_DRAWN = 24, NW = 200, NH = 36;

	function drawCycle(D, c, i) {
		var n = Math.min(c.members.length, MAX_DRAWN);
		var R = n === 1 ? 0 : Math.max(80, n * (NW + 30) / (2 * Math.PI));
		var Wd = 2 * R + NW + 80, Ht = 2 * R + NH + (n === 1 ? 90 : 60);
		var cx = Wd / 2, cy = Ht / 2 + (n === 1 ? 20 : 0);
		var pos = [];
		for (var k = 0; k < n; k++) {
			var ang = -Math.PI / 2 + 2 * Math.PI * k / n;
			pos.push([cx + R * Math.cos(ang) * (n === 2 ? 1.2 : 1), cy + R * Math.sin(ang) * (n === 2 ? 0 : 1) + (n === 2 ? (k ? 0 : 0) : 0)]);
		}
		if (n === 2) pos = [[cx - R, cy], [cx + R, cy]];
		var id = "arrow" + i;
		var svg = HS.svg("svg", {width: Wd, height: Ht, viewBox: "0 0 " + Wd + " " + Ht, "data-cycle": i,
			role: "img", "aria-label": "leaked cycle " + (i + 1)}, [
			HS.svg("defs", {}, [HS.svg("marker", {id: id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"},
				[HS.svg("path", {d: "M0,0 L10,5 L0,10 z"})])])]);
		var edges = HS.svg("g"), nodes = HS.svg("g");
		c.edges.forEach(function (e) {
			var a = e[0], b = e[2];
			if (a >= n || b >= n) return;
			var g = HS.svg("g", {class: "edge"});
			if (a === b) {
				var p = pos[a];
				g.appendChild(HS.svg("path", {d: "M" + (p[0] - 20) + "," + (p[1] - NH / 2) + " C" + (p[0] - 40) + "," + (p[1] - NH / 2 - 60) + " " +
					(p[0] + 40) + "," + (p[1] - NH / 2 - 60) + " " + (p[0] + 20) + "," + (p[1] - NH / 2), "marker-end": "url(#" + id + ")"}));
				g.appendChild(HS.svg("text", {x: p[0], y: p[1] - NH / 2 - 48, "text-anchor": "middle", text: "+" + e[1]}));
			} else {
				var s = pos[a], t = pos[b], mx = (s[0] + t[0]) / 2, my = (s[1] + t[1]) / 2;
				var dx = t[0] - s[0], dy = t[1] - s[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
				/* bend to the right of the direction, so a -> b and b -> a part */
				var bend = Math.min(40, len / 4), q = [mx - dy / len * bend, my + dx / len * bend];
				var p0 = border(s, q, NW + 6, NH + 6), p1 = border(t, q, NW + 6, NH + 6);
				g.appendChild(HS.svg("path", {d: "M" + p0[0].toFixed(1) + "," + p0[1].toFixed(1) + " Q" + q[0].toFixed(1) + "," + q[1].toFixed(1) + " " +
					p1[0].toFixed(1) + "," + p1[1].toFixed(1), "marker-end": "url(#" + id + ")"}));
				var lx = (p0[0] + 2 * q[0] + p1[0]) / 4, ly = (p0[1] + 2 * q[1] + p1[1]) / 4;
				g.appendChild(HS.svg("text", {x: lx.toFixed(1), y: (ly - 3).toFixed(1), "text-anchor": "middle", text: "+" + e[1]}));
			}
			g.appendChild(HS.svg("title", {text: "block " + (a + 1) + " +" + e[1] + " \u2192 block " + (b + 1)}));
			edges.appendChild(g);
		});
		for (k = 0; k < n; k++) {
			var m = c.members[k], site = HS.siteText(D, m.stack);
			var chars = Math.floor((NW - 10) / 6.2);
			var g = HS.svg("g", {class: "node " + m.kind, "data-node": k, transform: "translate(" + (pos[k][0] - NW / 2).toFixed(1) + "," + (pos[k][1] - NH / 2).toFixed(1) + ")"}, [
				HS.svg("rect", {width: NW, height: NH, rx: 5}),
				HS.svg("text", {x: 6, y: 14, text: site.length > chars ? site.slice(0, chars - 1) + "\u2026" : site}),
				HS.svg("text", {x: 6, y: 29, class: "size", text: "#" + (k + 1) + " \u00b7 " + HS.int(m.size) + " B \u00b7 " + m.kind + " \u00b7 " + m.address}),
				HS.svg("title", {text: "block " + (k + 1) + ": " + m.size + " bytes at " + m.address + ", " + m.kind + ", allocated at " + site})]);
			nodes.appendChild(g);
		}
		svg.appendChild(edges);
		svg.appendChild(nodes);
		return svg;
	}

	HS.drawCycles = function (D, box) {
		if (!D.summary.scanned) {
			box.appendChild(HS.el("p", {class: "note", text: "No pointer scan in this trace, so no cycles to find."}));
			return;
		}
		if (!D.cycles.length) {
			box.appendChild(HS.el("p", {class: "note", text: "No leaked cycles: no group of leaked blocks that point to each other with nothing outside pointing in."}));
			return;
		}
		box.appendChild(HS.el("p", {class: "note", text: "Groups of leaked blocks that point to each other, with nothing outside pointing in: the leaks reference counting never frees. Arrows go from the block holding a pointer (at +offset bytes) to the block it points to."}));
		D.cycles.forEach(function (c, i) {
			var div = HS.el("div", {class: "cycle", "data-cycle": i}, [HS.el("h3", {}, ["Leaked cycle #" + (i + 1) + ": ",
				HS.el("span", {"data-field": "cycle.blocks", text: HS.int(c.blocks)}), " blocks, " + HS.int(c.bytes) + " bytes" +
				(D.traces.length > 1 ? " (pid " + D.traces[c.trace].pid + ")" : "")])]);
			if (c.members.length > MAX_DRAWN || c.members.length < c.blocks)
				div.appendChild(HS.el("p", {class: "note", text: "The first " + Math.min(MAX_DRAWN, c.members.length) + " of its " + HS.int(c.blocks) + " blocks are drawn, with the pointers between them."}));
			div.appendChild(drawCycle(D, c, i));
			box.appendChild(div);
		});
	};
})();
