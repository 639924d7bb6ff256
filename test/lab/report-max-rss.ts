// Preloaded into the probe CLI by the lab test (`node --import`): reports the process's peak
// resident memory on exit, so the test can tell that a hostile peer did not make it buffer.
process.on("exit", () => {
  process.stderr.write(`lab-max-rss-kb ${process.resourceUsage().maxRSS}\n`);
});
