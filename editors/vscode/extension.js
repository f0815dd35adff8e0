// The VS Code side of flowc: starts `flowc lsp` (the command in the setting flowc.command)
// for .flow files, and shows the pipeline's graph (the server's flowc.graph command) in a panel.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration("flowc")
    .get("command", ["flowc", "lsp"]);
  client = new LanguageClient(
    "flowc",
    "flowc",
    { command, args },
    { documentSelector: [{ language: "flow" }] }
  );
  context.subscriptions.push(
    vscode.commands.registerCommand("flowc.showGraph", () => showGraph(context))
  );
  return client.start();
}

async function showGraph(context) {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "flow") {
    return;
  }
  const uri = editor.document.uri.toString();
  const graph = await client.sendRequest("workspace/executeCommand", {
    command: "flowc.graph",
    arguments: [uri],
  });
  if (graph.message) {
    vscode.window.showInformationMessage(`flowc: ${graph.message}`);
  }
  if (!graph.svg && !graph.dot) {
    return;
  }
  const panel = vscode.window.createWebviewPanel(
    "flowcGraph",
    `Graph: ${editor.document.fileName.split(/[\\/]/).pop()}`,
    vscode.ViewColumn.Beside,
    { enableScripts: false }
  );
  panel.webview.html = graph.svg
    ? `<!DOCTYPE html><html><body style="background:#fff">${graph.svg}</body></html>`
    : `<!DOCTYPE html><html><body><pre>${escapeHtml(graph.dot)}</pre></body></html>`;
  context.subscriptions.push(panel);
}

function escapeHtml(text) {
  return text.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
