"""A real MCP client (the official Python SDK) for tests/mcp.rs.

Reads a scenario as JSON on stdin: {"command", "args", "env", "cwd", "calls": [{"tool",
"arguments"}]}. Starts the server over stdio, initializes, lists the tools, makes each call in
order, and prints the transcript as one JSON document: the server's info and instructions, the
tools as listed, and per call whether it was a tool error, its text blocks, its structured
content, or the protocol error the SDK raised. Every structured result is validated here against
the output schema the tool declared (the SDK validates too); a mismatch fails the script.
"""

import json
import sys

import anyio
import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


async def run(scenario):
    params = StdioServerParameters(
        command=scenario["command"],
        args=scenario.get("args", []),
        env=scenario.get("env"),
        cwd=scenario.get("cwd"),
    )
    transcript = {"calls": []}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            transcript["server"] = {"name": init.server_info.name, "version": init.server_info.version}
            transcript["instructions"] = init.instructions
            listed = await session.list_tools()
            schemas = {}
            transcript["tools"] = []
            for tool in listed.tools:
                schemas[tool.name] = tool.output_schema
                transcript["tools"].append(
                    {
                        "name": tool.name,
                        "description": tool.description,
                        "input_schema": tool.input_schema,
                        "output_schema": tool.output_schema,
                        "read_only": bool(tool.annotations and tool.annotations.read_only_hint),
                    }
                )
            for call in scenario["calls"]:
                entry = {"tool": call["tool"], "arguments": call["arguments"]}
                try:
                    result = await session.call_tool(call["tool"], call["arguments"])
                except MCPError as e:
                    entry["protocol_error"] = str(e)
                    transcript["calls"].append(entry)
                    continue
                entry["is_error"] = bool(result.is_error)
                entry["texts"] = [block.text for block in result.content if block.type == "text"]
                entry["structured"] = result.structured_content
                if result.structured_content is not None and schemas.get(call["tool"]):
                    jsonschema.validate(result.structured_content, schemas[call["tool"]])
                    entry["schema_valid"] = True
                transcript["calls"].append(entry)
    return transcript


def main():
    scenario = json.load(sys.stdin)
    transcript = anyio.run(run, scenario)
    json.dump(transcript, sys.stdout)


if __name__ == "__main__":
    main()
