/*
 * main.js - read the embedded model, keep the chosen process and points A
 * and B, and draw every section.  Several traces: the summary, leaks and
 * cycles cover them all; the time-based sections (chart, flame graph,
 * tables) show one process at a time, chosen in the header.  Any failure
 * is shown on the page, not only in the console.
 */
"use strict";
(function () {
	var listeners = [], resizers = [];
	HS.state = {from: 0, to: 0, process: 0};
	HS.onRange = function (f) { listeners.push(f); };
	HS.onResize = function (f) { resizers.push(f); };
	HS.setRange = function (a, b) {
		if (a === b) return;
		HS.state.from = a;
		HS.state.to = b;
		listeners.forEach(function (f) { f(); });
	};
	window.addEventListener("resize", function () { resizers.forEach(function (f) { f(); }); });

	function section(id, f, D) {
		try {
			f(D, document.getElementById(id));
		} catch (e) {
			var box = document.getElementById("error");
			box.hidden = false;
			box.textContent += "Could not draw the " + id + " section: " + e + "\n";
			throw e;
		}
	}

	/* The stacks of the model as frame ids, allocation site first, from the
	 * tree the C side writes (stack_nodes: parent, frame pairs; each stack
	 * its allocation site's node). */
	function unfold(nodes, leaves) {
		return leaves.map(function (n) {
			var frames = [];
			for (; n >= 0; n = nodes[2 * n]) frames.push(nodes[2 * n + 1]);
			return frames;
		});
	}

	/* The model as the time-based sections read it: process i's series,
	 * points, profiles and tables in place of the whole model's. */
	function view(D, i) {
		var V = Object.create(D), P = D.processes[i];
		Object.keys(P).forEach(function (k) { V[k] = P[k]; });
		return V;
	}

	var TIME_SECTIONS = ["timeline", "flame", "tables"];

	/* Draw the time-based sections of process i (again: the drawings of
	 * the one before, and what they listened to, go). */
	function drawProcess(D, i) {
		var V = view(D, i), t = D.traces[D.processes[i].trace];
		listeners = [];
		resizers = [];
		HS.state = {from: V.from, to: V.to, process: i};
		TIME_SECTIONS.forEach(function (id) {
			var box = document.getElementById(id);
			while (box.children.length > 1) box.removeChild(box.lastChild);
			if (D.processes.length > 1)
				box.appendChild(HS.el("p", {class: "note", "data-field": "process." + id,
					text: "Process " + t.pid + " (" + (t.exe || "?") + "), trace " + t.path + ": choose another in the header."}));
		});
		section("timeline", function (V, box) { HS.drawChart(V, box); HS.drawRangeDiff(V, box); }, V);
		section("flame", HS.drawFlame, V);
		section("tables", HS.drawTables, V);
	}

	/* The process picker in the header, when there are several. */
	function picker(D) {
		var label = document.getElementById("process-pick");
		if (D.processes.length < 2) return;
		var sel = HS.el("select", {id: "process", onchange: function () { drawProcess(D, Number(sel.value)); }},
			D.processes.map(function (P, i) {
				var t = D.traces[P.trace];
				var exe = (t.exe || "?").replace(/.*\//, "");
				return HS.el("option", {value: i, text: "pid " + t.pid + " " + exe + " (peak " + HS.bytes(t.peak.bytes) + ")"});
			}));
		label.appendChild(sel);
		label.hidden = false;
	}

	function main() {
		var D = JSON.parse(document.getElementById("heapsnap-data").textContent);
		D.stacks = unfold(D.stack_nodes, D.stacks);
		HS.data = D;
		section("summary", HS.drawSummary, D);
		picker(D);
		drawProcess(D, 0);
		section("leaks", HS.drawLeaks, D);
		section("cycles", HS.drawCycles, D);
		if (D.baseline) section("baseline", HS.drawBaseline, D);
		document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
		document.body.setAttribute("data-ready", "1");
	}

	if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
	else main();
})();
