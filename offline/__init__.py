"""The engine behind the user's commands in tools/: the real program under Pulumi's mock engine
(`offline.run`, `offline.mocks`), stack files and command-line inputs (`offline.stackfile`,
`offline.inputs`), the charts rendered offline (`offline.render`), YAML output
(`offline.yamlout`) and the preview diff (`offline.diff_*`)."""
