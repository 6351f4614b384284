/*
 * flame.js - an icicle graph (callers on top, allocation sites at the
 * bottom) of one of the model's stack profiles: live memory at a point,
 * every allocation of the run (count or bytes), memory leaked at exit, the
 * growth between A and B.  Click a frame to zoom to it, search to highlight
 * and sum frames, reset to see the whole again.
 */
"use strict";
(function () {
	var ROW = 18, MIN_PX = 0.4;

	/* Build the tree of (stack, value) pairs: frames outermost first, a
	 * child per distinct frame id, children largest first. */
	function build(D, pairs, rootName) {
		var root = {name: rootName, id: -1, value: 0, children: [], kids: {}, parent: null, depth: 0};
		pairs.forEach(function (p) {
			if (!(p[1] > 0)) return;
			var node = root;
			root.value += p[1];
			var st = p[0] >= 0 ? D.stacks[p[0]] || [] : null;
			var path = st ? st.slice().reverse() : ["other"];
			path.forEach(function (fid) {
				var c = node.kids[fid];
				if (!c) {
					c = node.kids[fid] = {id: fid, name: fid === "other" ? "(smaller stacks, not kept)" : HS.frameText(D, fid),
						inlined: fid !== "other" && D.frames[fid] && D.frames[fid][4], value: 0, children: [], kids: {},
						parent: node, depth: node.depth + 1};
					node.children.push(c);
				}
				c.value += p[1];
				node = c;
			});
		});
		(function place(n, x) {
			n.x = x;
			n.children.sort(function (a, b) { return b.value - a.value || (a.name < b.name ? -1 : 1); });
			n.children.forEach(function (c) {
				place(c, x);
				x += c.value;
			});
		})(root, 0);
		return root;
	}

	function hue(name) {
		var h = 0;
		for (var i = 0; i < name.length && name.charAt(i) !== " "; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
		return h;
	}

	function color(n) {
		if (n.id === -1) return "hsl(220, 10%, 75%)";
		if (n.id === "other" || n.name.indexOf("???") === 0) return "hsl(0, 0%, 78%)";
		var h = hue(n.name);
		return "hsl(" + (h % 50 + 5) + ", " + (60 + h % 25) + "%, " + (n.inlined ? 74 : 64 + (h >> 8) % 8) + "%)";
	}

	/* Pairs (stack, value) of a profile, by mode. */
	function profile(D, mode, point, unit) {
		var out = [], src, stride, col;
		if (mode === "live") {
			src = D.live[point] || [];
			stride = 3;
			col = unit === "count" ? 2 : 1;
		} else if (mode === "allocated") {
			src = D.allocated;
			stride = 3;
			col = unit === "count" ? 1 : 2;
		} else if (mode === "temporary") {
			src = D.temporary_stacks;
			stride = 3;
			col = unit === "count" ? 2 : 1;
		} else if (mode === "leaked") {
			src = D.leaked;
			stride = 3;
			col = unit === "count" ? 2 : 1;
		} else {
			/* growth: what B holds more of than A, stack by stack */
			var a = {}, b = D.live[HS.state.to] || [], from = D.live[HS.state.from] || [], c = unit === "count" ? 2 : 1;
			for (var i = 0; i < from.length; i += 3) a[from[i]] = from[i + c];
			for (i = 0; i < b.length; i += 3)
				if (b[i + c] - (a[b[i]] || 0) > 0) out.push([b[i], b[i + c] - (a[b[i]] || 0)]);
			return out;
		}
		for (i = 0; i < src.length; i += stride) out.push([src[i], src[i + col]]);
		return out;
	}

	HS.drawFlame = function (D, box) {
		var mode = "live", unit = "bytes", point = D.peak_point;
		var zoom = null, root = null, term = "";
		var svg = HS.svg("svg", {"data-chart": "flame"});
		var tip = HS.el("div", {class: "tip", hidden: "hidden"});
		var status = HS.el("div", {class: "flame-status"});
		var graph = HS.el("div", {class: "flame"}, [svg, tip]);
		var pointSel = HS.pointSelect(D, point, function (i) { point = i; rebuild(); });
		var unitSel = HS.el("select", {onchange: function () { unit = unitSel.value; rebuild(); }}, [
			HS.el("option", {value: "bytes", text: "bytes"}), HS.el("option", {value: "count", text: "blocks"})]);
		var search = HS.el("input", {type: "search", placeholder: "search functions, files", "aria-label": "search",
			oninput: function () { term = search.value.toLowerCase(); render(); }});
		var modes = [["live", "live memory at"], ["allocated", "all allocations"], ["temporary", "temporary allocations"],
			["leaked", "leaked at exit"], ["growth", "growth from A to B"]];
		var modeSel = HS.el("select", {"data-control": "flame-mode", onchange: function () { mode = modeSel.value; rebuild(); }},
			modes.map(function (m) { return HS.el("option", {value: m[0], text: m[1]}); }));
		box.appendChild(HS.el("div", {class: "controls"}, [
			HS.el("label", {text: "Show"}), modeSel, pointSel, HS.el("label", {text: "in"}), unitSel, search,
			HS.el("button", {text: "Reset zoom", "data-control": "flame-reset", onclick: function () { zoom = null; render(); }})
		]));
		box.appendChild(status);
		box.appendChild(graph);

		function rebuild() {
			pointSel.hidden = mode !== "live";
			var name = mode === "live" ? "live at " + HS.pointName(D.points[point]) :
				mode === "growth" ? "growth from A to B" : modeSel.options[modeSel.selectedIndex].text;
			root = build(D, profile(D, mode, point, unit), "all: " + name);
			zoom = null;
			render();
		}

		function fmt(v) {
			return unit === "count" ? HS.int(v) + " blocks" : HS.bytes(v) + " (" + HS.int(v) + " B)";
		}

		function render() {
			HS.clear(svg);
			var W = Math.max(graph.clientWidth, 320), z = zoom || root;
			if (!root.value) {
				svg.setAttribute("height", 0);
				status.textContent = mode === "leaked" && !D.summary.scanned ? "No pointer scan in this trace: leaks are unknown." :
					"Nothing to show: this profile is empty.";
				return;
			}
			var scale = W / z.value, maxDepth = 0, matched = 0;
			var g = HS.svg("g");
			function add(n, x, w, dim) {
				var fr = HS.svg("g", {class: "frame" + (dim ? " dim" : ""), "data-frame": n.name, transform: "translate(" + x.toFixed(2) + "," + (n.depth * ROW) + ")"});
				fr.appendChild(HS.svg("rect", {width: Math.max(w - 0.5, 0.5).toFixed(2), height: ROW - 1, fill: color(n), rx: 1}));
				var chars = Math.floor((w - 6) / 6.6);
				if (chars >= 3)
					fr.appendChild(HS.svg("text", {x: 3, y: ROW - 5,
						text: n.name.length > chars ? n.name.slice(0, chars - 1) + "\u2026" : n.name}));
				if (term && n.name.toLowerCase().indexOf(term) >= 0) fr.classList.add("match");
				fr.addEventListener("click", function () { zoom = n === root ? null : n; render(); });
				fr.addEventListener("mousemove", function (ev) {
					var r = graph.getBoundingClientRect();
					tip.textContent = n.name + " \u00b7 " + fmt(n.value) + " \u00b7 " + HS.pct(n.value, root.value) + " of all";
					tip.hidden = false;
					tip.style.left = Math.min(ev.clientX - r.left + 12, W - 300) + "px";
					tip.style.top = (ev.clientY - r.top + 14) + "px";
				});
				fr.addEventListener("mouseleave", function () { tip.hidden = true; });
				g.appendChild(fr);
				maxDepth = Math.max(maxDepth, n.depth);
			}
			/* ancestors of the zoomed frame span the width, dimmed */
			for (var a = z.parent; a; a = a.parent) add(a, 0, W, true);
			(function walk(n) {
				var w = n.value * scale;
				if (w < MIN_PX) return;
				add(n, (n.x - z.x) * scale, w, false);
				n.children.forEach(walk);
			})(z);
			/* matches, each counted once: not again under a matching caller */
			if (term) (function sum(n) {
				if (n.name.toLowerCase().indexOf(term) >= 0 && n !== root) matched += n.value;
				else n.children.forEach(sum);
			})(root);
			svg.appendChild(g);
			var h = (maxDepth + 1) * ROW + 2;
			svg.setAttribute("width", W);
			svg.setAttribute("height", h);
			svg.setAttribute("viewBox", "0 0 " + W + " " + h);
			status.textContent = (zoom ? "Zoomed to " + zoom.name + ": " + fmt(zoom.value) + ". " : "Total " + fmt(root.value) + ". ") +
				(term ? "Matching \u201c" + search.value + "\u201d: " + fmt(matched) + ", " + HS.pct(matched, root.value) + " of all." : "");
			status.setAttribute("data-matched", matched);
		}

		rebuild();
		HS.onRange(function () { if (mode === "growth") rebuild(); });
		HS.onResize(render);
	};
})();
