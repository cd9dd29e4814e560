from django.contrib.auth import views as auth_views
from django.urls import path

from salesops import audit_views, people_views, views

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    # The link of an invitation (salesops.people.invitation_link): set a password, signed in.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(post_reset_login=True),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("people/", people_views.people, name="people"),
    path("audit/", audit_views.audit_events, name="audit"),
    path("setup/", views.setup_hub, name="setup"),
    path("setup/first-admin/", views.first_admin, name="setup_first_admin"),
]
