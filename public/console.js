// The console page: tails one partition of a topic over WebSocket push, and keeps the offset it
// has shown in IndexedDB, so a reload resumes after the last record shown.
import { OffsetCache, Subscription } from "/edgelog.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const GROUP = "console";
let subscription = null;

async function loadTopics() {
  const res = await fetch("/v1/topics");
  const { topics } = await res.json();
  $("topic").replaceChildren(...topics.map((t) => new Option(t.name, t.name)));
  const wanted = params.get("topic");
  if (wanted) $("topic").value = wanted;
  showPartitions(topics);
  $("topic").onchange = () => showPartitions(topics);
  return topics;
}

function showPartitions(topics) {
  const topic = topics.find((t) => t.name === $("topic").value);
  const count = topic ? topic.partitions : 0;
  $("partition").replaceChildren(...Array.from({ length: count }, (_, p) => new Option(String(p), String(p))));
  if (params.get("partition")) $("partition").value = params.get("partition");
}

function render(record) {
  const row = document.createElement("tr");
  row.dataset.offset = String(record.offset);
  const value = typeof record.value === "string" ? record.value : JSON.stringify(record.value);
  for (const text of [record.offset, new Date(record.timestamp).toISOString(), record.key ?? "", value]) {
    const cell = document.createElement("td");
    cell.textContent = String(text);
    row.append(cell);
  }
  $("records").append(row);
}

async function tail(topic, partition) {
  subscription?.close();
  $("records").replaceChildren();
  const cache = await OffsetCache.open();
  const tp = { topic, partition };
  const stored = await cache.get(GROUP, tp);
  $("stored").textContent = stored ? String(stored.offset) : "none";
  $("status").textContent = `Tailing ${topic}/${partition} from offset ${stored?.offset ?? 0}…`;
  subscription = new Subscription({
    url: location.origin,
    topic,
    partition,
    offset: stored?.offset ?? 0,
    onRecords: async (records, info) => {
      records.forEach(render);
      const next = records[records.length - 1].offset + 1;
      await cache.put(GROUP, tp, { offset: next, resetId: stored?.resetId ?? 0 });
      $("stored").textContent = String(next);
      $("status").textContent = `Tailing ${topic}/${partition}: high watermark ${info.highWatermark}`;
    },
    onEnd: ({ message }) => ($("status").textContent = `Stopped: ${message}`),
  });
  subscription.start();
}

$("pick").onsubmit = (event) => {
  event.preventDefault();
  const topic = $("topic").value;
  const partition = Number($("partition").value || 0);
  history.replaceState(null, "", `?topic=${encodeURIComponent(topic)}&partition=${partition}`);
  tail(topic, partition);
};

await loadTopics();
if (params.get("topic")) tail(params.get("topic"), Number(params.get("partition") ?? 0));
