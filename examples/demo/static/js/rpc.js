// The RPC page: a small JSON-RPC 2.0 and XML-RPC client, showing what goes over the wire.
"use strict";

(() => {
  const form = document.getElementById("rpc-form");
  const protocol = document.getElementById("rpc-protocol");
  const method = document.getElementById("rpc-method");
  const params = document.getElementById("rpc-params");
  const result = document.getElementById("rpc-result");
  const requestView = document.getElementById("rpc-request");
  const responseView = document.getElementById("rpc-response");
  const statusView = document.getElementById("rpc-status");
  let nextId = 1;

  // -- XML-RPC values (http://xmlrpc.com/spec.md) ------------------------------------
  const escapeXml = (text) =>
    text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  const toXml = (value) => {
    if (typeof value === "boolean") {
      return `<boolean>${value ? 1 : 0}</boolean>`;
    }
    if (typeof value === "number") {
      return Number.isInteger(value) ? `<int>${value}</int>` : `<double>${value}</double>`;
    }
    if (typeof value === "string") {
      return `<string>${escapeXml(value)}</string>`;
    }
    if (Array.isArray(value)) {
      return `<array><data>${value.map((item) => `<value>${toXml(item)}</value>`).join("")}</data></array>`;
    }
    if (value === null) {
      return "<nil/>";
    }
    const members = Object.entries(value).map(
      ([name, item]) => `<member><name>${escapeXml(name)}</name><value>${toXml(item)}</value></member>`,
    );
    return `<struct>${members.join("")}</struct>`;
  };

  const fromXml = (valueElement) => {
    const typed = valueElement.firstElementChild;
    if (!typed) {
      return valueElement.textContent; // a bare <value>text</value> is a string
    }
    switch (typed.tagName) {
      case "int":
      case "i4":
      case "i8":
        return parseInt(typed.textContent, 10);
      case "double":
        return parseFloat(typed.textContent);
      case "boolean":
        return typed.textContent.trim() === "1";
      case "nil":
        return null;
      case "array":
        return Array.from(typed.querySelectorAll(":scope > data > value"), fromXml);
      case "struct": {
        const object = {};
        for (const member of typed.children) {
          object[member.querySelector(":scope > name").textContent] = fromXml(
            member.querySelector(":scope > value"),
          );
        }
        return object;
      }
      default:
        return typed.textContent; // string, base64, dateTime.iso8601
    }
  };

  const indentXml = (xml) => {
    let depth = 0;
    return xml
      .replace(/>\s*</g, ">\n<")
      .split("\n")
      .map((line) => {
        if (line.startsWith("</")) {
          depth -= 1;
        }
        const indented = "  ".repeat(Math.max(depth, 0)) + line;
        if (/^<[^/?!][^>]*[^/]>$/.test(line) && !line.includes("</")) {
          depth += 1;
        }
        return indented;
      })
      .join("\n");
  };

  // -- the calls ------------------------------------------------------------------------
  const callJson = async (url, name, args) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: nextId++, method: name, params: args }, null, 2);
    requestView.textContent = `POST ${url}\nContent-Type: application/json\n\n${body}`;
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    const text = await response.text();
    statusView.textContent = `${response.status} ${response.statusText}`;
    const answer = JSON.parse(text);
    responseView.textContent = JSON.stringify(answer, null, 2);
    return "error" in answer
      ? `error ${answer.error.code}: ${answer.error.message}`
      : JSON.stringify(answer.result);
  };

  const callXml = async (url, name, args) => {
    const values = args.map((arg) => `<param><value>${toXml(arg)}</value></param>`).join("");
    const body = `<?xml version="1.0"?><methodCall><methodName>${escapeXml(name)}</methodName><params>${values}</params></methodCall>`;
    requestView.textContent = `POST ${url}\nContent-Type: text/xml\n\n${indentXml(body)}`;
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "text/xml" }, body });
    const text = await response.text();
    statusView.textContent = `${response.status} ${response.statusText}`;
    responseView.textContent = indentXml(text);
    const documentXml = new DOMParser().parseFromString(text, "text/xml");
    const fault = documentXml.querySelector("methodResponse > fault > value");
    if (fault) {
      const detail = fromXml(fault);
      return `fault ${detail.faultCode}: ${detail.faultString}`;
    }
    return JSON.stringify(fromXml(documentXml.querySelector("methodResponse > params > param > value")));
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let args;
    try {
      args = JSON.parse(params.value);
    } catch (error) {
      result.textContent = `the parameters are not JSON: ${error.message}`;
      return;
    }
    if (!Array.isArray(args)) {
      args = [args];
    }
    const url = protocol.selectedOptions[0].dataset.url;
    result.textContent = "calling…";
    try {
      const call = protocol.value === "xml" ? callXml : callJson;
      result.textContent = await call(url, method.value, args);
    } catch (error) {
      result.textContent = `the call failed: ${error.message}`;
    }
  });
})();
