"""A minimal WebKitGTK browser for WebKitWebDriver, run by the system's python3 (PyGObject).

Why not Debian's MiniBrowser: under automation it uses an ephemeral data manager, and WebKit prints
no console message for ephemeral sessions, while WebKit reports a CORS reason only on the console.
This one keeps a persistent data manager in a fresh directory, writes console messages to stdout
(the web process prints them as ``CONSOLE SECURITY ERROR ...``) and answers the automation session's
``create-web-view`` with a web view controlled by automation.

Usage (WebKitWebDriver starts it with WEBKIT_INSPECTOR_SERVER set)::

    python3 webkit_minibrowser.py DATA_DIR [PROXY_URI]
"""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import Gtk, WebKit2  # noqa: E402


def main(argv):
    data_dir = argv[1]
    proxy = argv[2] if len(argv) > 2 else ""
    manager = WebKit2.WebsiteDataManager(base_data_directory=data_dir + "/data",
                                         base_cache_directory=data_dir + "/cache")
    if proxy:
        # An empty ignore list: loopback goes through the proxy too.
        manager.set_network_proxy_settings(WebKit2.NetworkProxyMode.CUSTOM,
                                           WebKit2.NetworkProxySettings.new(proxy, []))
    context = WebKit2.WebContext(website_data_manager=manager)
    context.set_cache_model(WebKit2.CacheModel.DOCUMENT_VIEWER)  # no memory cache between cases
    context.set_automation_allowed(True)
    settings = WebKit2.Settings(enable_write_console_messages_to_stdout=True)
    windows = []

    def create_web_view(session):
        view = WebKit2.WebView(web_context=context, settings=settings, is_controlled_by_automation=True)
        window = Gtk.Window()
        window.set_default_size(800, 600)
        window.add(view)
        window.show_all()
        windows.append(window)
        return view

    def automation_started(_context, session):
        info = WebKit2.ApplicationInfo()
        info.set_name("cors-webkit")
        info.set_version(WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version())
        session.set_application_info(info)
        session.connect("create-web-view", create_web_view)

    context.connect("automation-started", automation_started)
    Gtk.main()


if __name__ == "__main__":
    main(sys.argv)
