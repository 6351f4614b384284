/*
 * util.js - what every part of the report page shares: element builders,
 * number formats, the sortable table.  The page only draws: every number
 * comes from the data the heapsnap command embedded (model.md).
 */
"use strict";
var HS = {};

(function () {
	var SVGNS = "http://www.w3.org/2000/svg";

	/* An HTML element: attrs (class, text, on*, other attributes), children. */
	HS.el = function (tag, attrs, children) {
		var e = document.createElement(tag);
		HS.setAttrs(e, attrs);
		(children || []).forEach(function (c) {
			if (c !== null && c !== undefined)
				e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
		});
		return e;
	};

	/* An SVG element, the same way. */
	HS.svg = function (tag, attrs, children) {
		var e = document.createElementNS(SVGNS, tag);
		HS.setAttrs(e, attrs);
		(children || []).forEach(function (c) {
			if (c) e.appendChild(c);
		});
		return e;
	};

	HS.setAttrs = function (e, attrs) {
		for (var k in attrs || {}) {
			var v = attrs[k];
			if (v === null || v === undefined || v === false) continue;
			if (k === "text") e.textContent = v;
			else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
			else e.setAttribute(k, v);
		}
	};

	HS.clear = function (e) {
		while (e.firstChild) e.removeChild(e.firstChild);
		return e;
	};

	/* 1234567 -> "1,234,567": exact, so a reader can compare with the CLI. */
	HS.int = function (n) {
		var s = String(Math.abs(Math.round(n))), out = "";
		while (s.length > 3) {
			out = "," + s.slice(-3) + out;
			s = s.slice(0, -3);
		}
		return (n < 0 ? "-" : "") + s + out;
	};

	HS.signed = function (n) {
		return (n > 0 ? "+" : "") + HS.int(n);
	};

	/* Bytes for the eye: "12.3 MiB". */
	HS.bytes = function (n) {
		var units = ["B", "KiB", "MiB", "GiB", "TiB"], a = Math.abs(n), u = 0;
		while (a >= 1024 && u < units.length - 1) {
			a /= 1024;
			u++;
		}
		var s = u === 0 ? String(Math.round(a)) : a.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0);
		return (n < 0 ? "-" : "") + s + " " + units[u];
	};

	HS.secs = function (t) {
		if (t === null || t === undefined) return "?";
		return t < 10 ? t.toFixed(3) + " s" : t < 1000 ? t.toFixed(2) + " s" : t.toFixed(0) + " s";
	};

	HS.pct = function (part, whole) {
		return whole ? (100 * part / whole).toFixed(part * 1000 < whole ? 2 : 1) + "%" : "";
	};

	/* A frame of the model's frame table as one line of text. */
	HS.frameText = function (D, id) {
		var f = D.frames[id];
		if (!f) return "???";
		var s = f[0] || "???";
		if (f[1] && f[2]) s += " " + f[1] + ":" + f[2];
		else if (f[3]) s += " (" + f[3] + ")";
		return s;
	};

	/* "function file:line" of a stack's allocation site (its first frame). */
	HS.siteText = function (D, stack) {
		var st = D.stacks[stack];
		if (!st || !st.length) return "<no stack>";
		return HS.frameText(D, st[0]);
	};

	/* A stack as a list, allocation site first, inlined frames marked. */
	HS.stackList = function (D, stack) {
		var st = D.stacks[stack] || [];
		var ol = HS.el("ol", {class: "stack", start: "0"});
		if (!st.length)
			ol.appendChild(HS.el("li", {class: "note", text: "no stack: allocated before the shim could unwind"}));
		st.forEach(function (id) {
			var f = D.frames[id] || [];
			ol.appendChild(HS.el("li", {}, [HS.frameText(D, id),
				f[4] ? HS.el("span", {class: "inl", text: " (inlined)"}) : null]));
		});
		return ol;
	};

	/*
	 * A sortable table.  cols: [{title, type: "num"|"str", get(row) -> value
	 * for sorting, show(row) -> string or node, cls}], rows, sort: {col,
	 * desc}.  Ties sort by the first string column, byte order, as the CLI
	 * does, so the order of equal sizes matches `heapsnap top`.
	 */
	HS.table = function (cols, rows, sort, limit) {
		var table = HS.el("table", {class: "data"});
		var thead = HS.el("thead"), tbody = HS.el("tbody"), tr = HS.el("tr");
		var state = {col: sort ? sort.col : 0, desc: sort ? sort.desc : true};
		var keyCol = cols.findIndex(function (c) { return c.type === "str"; });

		function cmp(a, b) {
			var c = cols[state.col], x = c.get(a), y = c.get(b), r;
			if (x === y) r = 0;
			else if (c.type === "num") r = x < y ? -1 : 1;
			else r = String(x) < String(y) ? -1 : 1;
			if (state.desc) r = -r;
			if (r === 0 && keyCol >= 0) {
				var p = cols[keyCol].get(a), q = cols[keyCol].get(b);
				r = p === q ? 0 : p < q ? -1 : 1;
			}
			return r;
		}

		function fill() {
			var sorted = rows.slice().sort(cmp);
			if (limit) sorted = sorted.slice(0, limit);
			HS.clear(tbody);
			sorted.forEach(function (row) {
				var r = HS.el("tr");
				cols.forEach(function (c) {
					var v = c.show ? c.show(row) : c.get(row);
					var td = HS.el("td", {class: (c.cls || "") + " " + (c.type === "num" ? "num" : "str")});
					if (v instanceof Node) td.appendChild(v);
					else td.textContent = c.type === "num" && typeof v === "number" ? HS.int(v) : v;
					r.appendChild(td);
				});
				tbody.appendChild(r);
			});
			Array.prototype.forEach.call(tr.children, function (th, i) {
				th.className = (cols[i].type === "str" ? "str" : "num") +
					(i === state.col ? (state.desc ? " sorted-desc" : " sorted-asc") : "");
			});
		}

		cols.forEach(function (c, i) {
			tr.appendChild(HS.el("th", {text: c.title, title: "sort by " + c.title, onclick: function () {
				if (state.col === i) state.desc = !state.desc;
				else {
					state.col = i;
					state.desc = c.type === "num";
				}
				fill();
			}}));
		});
		thead.appendChild(tr);
		table.appendChild(thead);
		table.appendChild(tbody);
		fill();
		return table;
	};

	/* A sparkline of values (an SVG polyline). */
	HS.sparkline = function (values, w, h) {
		w = w || 120;
		h = h || 22;
		var max = Math.max.apply(null, values.concat([1])), min = Math.min.apply(null, values.concat([max]));
		var span = max - min || 1, n = values.length;
		var pts = values.map(function (v, i) {
			var x = n > 1 ? 1 + i * (w - 2) / (n - 1) : w / 2;
			return x.toFixed(1) + "," + (h - 2 - (v - min) * (h - 4) / span).toFixed(1);
		});
		return HS.svg("svg", {class: "spark", width: w, height: h, viewBox: "0 0 " + w + " " + h}, [
			HS.svg("polyline", {points: pts.join(" ")})
		]);
	};

	/* Tabs: names, the one on, onchange(name). */
	HS.tabs = function (names, on, onchange) {
		var box = HS.el("span", {class: "tabs"});
		names.forEach(function (n) {
			box.appendChild(HS.el("button", {text: n, class: n === on ? "on" : "", "data-tab": n, onclick: function () {
				Array.prototype.forEach.call(box.children, function (b) {
					b.className = b.getAttribute("data-tab") === n ? "on" : "";
				});
				onchange(n);
			}}));
		});
		return box;
	};

	/* A <select> of the model's points; onchange(index). */
	HS.pointSelect = function (D, value, onchange, filter) {
		var s = HS.el("select", {onchange: function () { onchange(+s.value); }});
		D.points.forEach(function (p, i) {
			if (filter && !filter(p)) return;
			s.appendChild(HS.el("option", {value: i, text: HS.pointName(p)}));
		});
		s.value = value;
		return s;
	};

	HS.pointName = function (p) {
		var name = p.kind === "snapshot" ? "snapshot " + p.index + (p.label ? " \u201c" + p.label + "\u201d" : "")
			: p.kind === "time" ? "@" + p.time.toFixed(3) + "s" : p.kind;
		return name + " (" + HS.secs(p.time) + ")";
	};
})();
