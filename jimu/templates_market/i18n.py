"""UI strings of the market pages (``/market``) in zh-CN (default) and English; keys
unknown here fall back to the screens' strings (:mod:`jimu.runtime.screens.i18n`)."""

from __future__ import annotations

from typing import Any

from jimu.runtime.screens.i18n import translate as screens_translate

__all__ = ["STRINGS", "translate"]

# key -> (zh, en)
STRINGS: dict[str, tuple[str, str]] = {
    "market": ("模板市场", "Template market"),
    "market_intro": ("浏览行业模板和功能单元（CBU），一键安装到新应用或已有应用。",
                     "Browse industry templates and capability units (CBUs); install them into a new or existing app."),
    "templates": ("行业模板", "Templates"),
    "cbus": ("功能单元", "Capability units"),
    "industry": ("行业", "Industry"),
    "domains": ("领域标签", "Domain tags"),
    "installs_cbus": ("包含的功能单元", "Installs these units"),
    "contains": ("主要内容", "Highlights"),
    "screenshots": ("截图", "Screenshots"),
    "no_screenshots": ("暂无截图", "No screenshots"),
    "screenshot_alt": ("{title} 截图 {n}/{total}", "{title}: screenshot {n} of {total}"),
    "screenshot_open": ("查看大图", "Open full size"),
    "depends": ("依赖", "Depends on"),
    "version": ("版本", "Version"),
    "versions": ("可用版本", "Available versions"),
    "install": ("安装", "Install"),
    "install_template": ("安装模板：{title}", "Install template: {title}"),
    "install_cbu": ("安装功能单元：{title}", "Install unit: {title}"),
    "installing": ("正在安装，请稍候…", "Installing, please wait…"),
    "target_app": ("目标应用", "Target app"),
    "app_name_label": ("应用名称（新建，或填写已有应用名）", "App name (new, or the name of an existing app)"),
    "app_name_help": ("小写字母、数字和下划线，以字母开头。已有应用：{apps}",
                      "Lowercase letters, digits and underscores, starting with a letter. Existing apps: {apps}"),
    "none": ("无", "none"),
    "params": ("安装参数", "Parameters"),
    "no_params": ("此模板没有参数", "This template has no parameters"),
    "param_type": ("类型：{type}，默认：{default}", "Type: {type}, default: {default}"),
    "sample_data": ("导入示例数据", "Load sample data"),
    "install_ok": ("安装完成：应用 {app} 已安装 {n} 个功能单元（发布版本 v{version}，用时 {s} 秒）。",
                   "Installed: {n} units into app {app} (published version v{version}, {s} s)."),
    "install_nothing": ("应用 {app} 已经安装了这些功能单元，没有变化。", "App {app} already has these units; nothing changed."),
    "sample_rows": ("已导入示例数据：{rows}", "Sample data loaded: {rows}"),
    "install_failed": ("安装失败：{message}", "Install failed: {message}"),
    "open_app": ("打开应用", "Open the app"),
    "installed_units": ("已安装的功能单元", "Installed units"),
    "installed_in": ("应用 {app} 的功能单元", "Units of app {app}"),
    "no_installed": ("此应用还没有安装功能单元", "No units installed in this app"),
    "latest": ("最新版本", "Latest"),
    "installed_at": ("安装时间", "Installed"),
    "template": ("来源模板", "Template"),
    "elements": ("元素数", "Elements"),
    "upgrade": ("升级", "Upgrade"),
    "up_to_date": ("已是最新", "Up to date"),
    "uninstall": ("卸载", "Uninstall"),
    "upgrade_title": ("升级 {cbu}：{old} → {new}", "Upgrade {cbu}: {old} → {new}"),
    "dry_run_note": ("以下为预演结果（尚未修改应用）。你的自定义会被保留；冲突需要逐项选择。",
                     "A dry run (nothing changed yet). Your customizations are kept; choose a side for each conflict."),
    "changes": ("将要进行的变更", "Changes"),
    "no_changes": ("没有变更", "No changes"),
    "element": ("元素", "Element"),
    "action": ("变更", "Change"),
    "reason": ("原因", "Reason"),
    "act_add": ("新增", "add"),
    "act_update": ("更新", "update"),
    "act_remove": ("移除", "remove"),
    "act_keep": ("保留", "keep"),
    "act_skip": ("跳过", "skip"),
    "conflicts": ("冲突", "Conflicts"),
    "no_conflicts": ("没有冲突", "No conflicts"),
    "conflict_path": ("位置", "Path"),
    "base_value": ("原版本", "Base"),
    "mine_value": ("我的（当前应用）", "Mine (current app)"),
    "theirs_value": ("新版本", "Theirs (new version)"),
    "resolution_for": ("{path} 的处理方式", "Resolution for {path}"),
    "keep_mine": ("保留我的", "Keep mine"),
    "take_theirs": ("采用新版本", "Take theirs"),
    "apply_upgrade": ("执行升级", "Apply upgrade"),
    "upgrade_ok": ("升级完成：{cbu} 现为 {version}（发布版本 v{pub}）。", "Upgraded: {cbu} is now {version} (published version v{pub})."),
    "upgrade_unresolved": ("还有未处理的冲突，请为每一项选择处理方式。", "Some conflicts are unresolved; choose a side for each."),
    "upgrade_failed": ("升级失败：{message}", "Upgrade failed: {message}"),
    "uninstall_title": ("卸载 {cbu}", "Uninstall {cbu}"),
    "uninstall_notice": ("卸载会移除此功能单元的行为（流程、自动化、角色权限、记账规则、视图）；它的实体和字段将被归档，数据保留不删除，重新安装即可恢复。",
                         "Uninstalling removes this unit's behaviour (workflows, automations, role rights, postings, views); "
                         "its entities and fields are archived and their data is kept — reinstalling brings it back."),
    "will_archive": ("将归档（数据保留）", "Archived (data kept)"),
    "will_remove": ("将移除的行为", "Behaviour removed"),
    "kept_shared": ("与其他单元共享、保持不变", "Shared with other units, kept"),
    "nothing": ("无", "None"),
    "confirm_uninstall": ("我已了解：实体将被归档，数据保留", "I understand: entities are archived, data is kept"),
    "do_uninstall": ("确认卸载", "Uninstall"),
    "must_confirm": ("请先勾选确认。", "Please tick the confirmation first."),
    "uninstall_ok": ("已卸载 {cbu}：归档 {a} 项，移除 {r} 项，数据均已保留。", "Uninstalled {cbu}: {a} archived, {r} removed; all data kept."),
    "uninstall_failed": ("卸载失败：{message}", "Uninstall failed: {message}"),
    "dependents": ("被以下单元依赖：{names}", "Needed by: {names}"),
    "admin_only": ("模板市场仅限管理员使用", "The template market is for admins only"),
    "back_to_market": ("返回模板市场", "Back to the market"),
    "back_to_units": ("返回已安装单元", "Back to installed units"),
    "manage_app": ("管理应用 {app} 的功能单元", "Manage the units of {app}"),
    "apps_installed": ("已有应用", "Apps"),
}


def translate(key: str, lang: str = "zh", **kw: Any) -> str:
    """``key`` in ``lang`` from the market strings, else from the screens' strings."""
    pair = STRINGS.get(key)
    if pair is None:
        return screens_translate(key, lang, **kw)
    text = pair[1 if lang == "en" else 0]
    return text.format(**kw) if kw else text
